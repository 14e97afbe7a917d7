import LandwatchCLI

LandwatchCommand.main()
