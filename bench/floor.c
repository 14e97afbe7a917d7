/* The floor for the NDVI benchmark: read two bands of a tiled GeoTIFF block by block with GDAL and write one
 * Float32 band with the same creation options, on N threads (one dataset handle per thread), computing nothing;
 * with a sixth argument `ndvi` it writes (B - A) / (B + A) instead, the NDVI bytes landwatch writes (issue 28's C loop).
 * Usage: floor INPUT BAND_A BAND_B OUTPUT THREADS [ndvi] */
#include <gdal.h>
#include <cpl_conv.h>
#include <cpl_string.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *input, *output;
static int bandA, bandB, blockSize = 512, width, height, blocksX, blocksY, total;
static int next = 0, ndvi = 0;
static pthread_mutex_t counterLock = PTHREAD_MUTEX_INITIALIZER, writeLock = PTHREAD_MUTEX_INITIALIZER;
static GDALRasterBandH outBand;

static void *work(void *unused) {
    (void)unused;
    GDALDatasetH ds = GDALOpen(input, GA_ReadOnly);
    GDALRasterBandH a = GDALGetRasterBand(ds, bandA), b = GDALGetRasterBand(ds, bandB);
    float *bufA = CPLMalloc(sizeof(float) * blockSize * blockSize);
    float *bufB = CPLMalloc(sizeof(float) * blockSize * blockSize);
    for (;;) {
        pthread_mutex_lock(&counterLock);
        int i = next++;
        pthread_mutex_unlock(&counterLock);
        if (i >= total) break;
        int bx = i % blocksX, by = i / blocksX;
        int x = bx * blockSize, y = by * blockSize;
        int w = x + blockSize > width ? width - x : blockSize, h = y + blockSize > height ? height - y : blockSize;
        if (GDALRasterIO(a, GF_Read, x, y, w, h, bufA, w, h, GDT_Float32, 4, 4 * blockSize) != CE_None ||
            GDALRasterIO(b, GF_Read, x, y, w, h, bufB, w, h, GDT_Float32, 4, 4 * blockSize) != CE_None) {
            fprintf(stderr, "read failed\n");
            exit(1);
        }
        if (ndvi) {
            for (int r = 0; r < h; r++)
                for (int c = 0; c < w; c++) {
                    float red = bufA[r * blockSize + c], nir = bufB[r * blockSize + c];
                    bufB[r * blockSize + c] = (nir - red) / (nir + red);
                }
        }
        pthread_mutex_lock(&writeLock);
        CPLErr err = GDALWriteBlock(outBand, bx, by, bufB);
        pthread_mutex_unlock(&writeLock);
        if (err != CE_None) { fprintf(stderr, "write failed\n"); exit(1); }
    }
    CPLFree(bufA);
    CPLFree(bufB);
    GDALClose(ds);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "ndvi") == 0)) {
        fprintf(stderr, "usage: floor INPUT BAND_A BAND_B OUTPUT THREADS [ndvi]\n");
        return 2;
    }
    ndvi = argc == 7;
    input = argv[1]; bandA = atoi(argv[2]); bandB = atoi(argv[3]); output = argv[4];
    int threads = atoi(argv[5]);
    GDALAllRegister();
    GDALDatasetH in = GDALOpen(input, GA_ReadOnly);
    if (!in) return 1;
    width = GDALGetRasterXSize(in); height = GDALGetRasterYSize(in);
    blocksX = (width + blockSize - 1) / blockSize; blocksY = (height + blockSize - 1) / blockSize;
    total = blocksX * blocksY;
    char **options = NULL;
    options = CSLSetNameValue(options, "TILED", "YES");
    options = CSLSetNameValue(options, "BLOCKXSIZE", "512");
    options = CSLSetNameValue(options, "BLOCKYSIZE", "512");
    options = CSLSetNameValue(options, "COMPRESS", "ZSTD");
    options = CSLSetNameValue(options, "ZSTD_LEVEL", "1");
    options = CSLSetNameValue(options, "BIGTIFF", "IF_SAFER");
    GDALDatasetH out = GDALCreate(GDALGetDriverByName("GTiff"), output, width, height, 1, GDT_Float32, options);
    CSLDestroy(options);
    double gt[6];
    GDALGetGeoTransform(in, gt);
    GDALSetGeoTransform(out, gt);
    GDALSetProjection(out, GDALGetProjectionRef(in));
    outBand = GDALGetRasterBand(out, 1);
    pthread_t pool[64];
    for (int t = 0; t < threads; t++) pthread_create(&pool[t], NULL, work, NULL);
    for (int t = 0; t < threads; t++) pthread_join(pool[t], NULL);
    GDALClose(out);
    GDALClose(in);
    return 0;
}
