#ifndef LANDWATCH_CFREETYPE_SHIM_H
#define LANDWATCH_CFREETYPE_SHIM_H

// FreeType (Debian's libfreetype-dev): the text burned into chips and field-package pages.
#include <ft2build.h>
#include FT_FREETYPE_H

// FT_HAS_KERNING and the error codes are macros; wrap what Swift needs.
static inline int landwatch_ft_load_render(FT_Face face, FT_ULong code) {
    return FT_Load_Char(face, code, FT_LOAD_RENDER);
}

#endif
