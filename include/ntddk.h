/*
 * ntddk.h - as in the WDK, the superset of wdm.h for kernel-mode drivers.
 */
#ifndef NTDDK_H
#define NTDDK_H

#include "wdm.h"

#endif
