#ifndef LANDWATCH_CGDAL_SHIM_H
#define LANDWATCH_CGDAL_SHIM_H

#include <gdal.h>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <cpl_vsi_error.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <gdalwarper.h>
#include <gdal_utils.h>
#include <cpl_compressor.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

// Function-like macros and variadic functions do not import into Swift: wrap them here.

static inline int landwatch_gdal_version_num(void) { return GDAL_VERSION_NUM; }

static inline void landwatch_cpl_free(void *p) { CPLFree(p); }

/// Returns free heap pages to the system (glibc); a no-op where malloc_trim does not exist.
static inline void landwatch_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

static inline void landwatch_cpl_error(CPLErr level, int code, const char *message) {
    CPLError(level, code, "%s", message);
}

static inline unsigned int landwatch_of_raster_readonly(void) {
    return (unsigned int)(GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR);
}

static inline unsigned int landwatch_of_raster_update(void) {
    return (unsigned int)(GDAL_OF_RASTER | GDAL_OF_UPDATE | GDAL_OF_VERBOSE_ERROR);
}

static inline unsigned int landwatch_of_vector_readonly(void) {
    return (unsigned int)(GDAL_OF_VECTOR | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR);
}

#endif
