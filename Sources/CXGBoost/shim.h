#ifndef LANDWATCH_CXGBOOST_SHIM_H
#define LANDWATCH_CXGBOOST_SHIM_H
#include <xgboost/c_api.h>
#endif
