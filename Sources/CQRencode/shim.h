#ifndef LANDWATCH_CQRENCODE_SHIM_H
#define LANDWATCH_CQRENCODE_SHIM_H

// libqrencode (Debian's libqrencode-dev): QR codes for the field package's geo: and Amap links.
#include <qrencode.h>

#endif
