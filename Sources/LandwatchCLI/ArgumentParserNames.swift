import ArgumentParser

/// `@Option` in this module is ArgumentParser's, not the pipeline's typed stage option of the same name.
typealias Option<Value> = ArgumentParser.Option<Value>
