/*
 * object.h - the object manager in small: a header before each object's
 * body with its reference count and type, and one kernel handle table
 * (kernel/ob/object.c, docs/threads.md "Thread objects and handles").
 */
#ifndef KERNEL_OBJECT_H
#define KERNEL_OBJECT_H

#include "wdm.h"

typedef struct _OBJECT_TYPE {
    const char *Name;
    VOID (*Delete)(PVOID Object);       /* the last reference is gone */
} OBJECT_TYPE;

/* Right before the body: an object is allocated as { OBJECT_HEADER; body }. */
typedef struct _OBJECT_HEADER {
    volatile LONG_PTR PointerCount;     /* references, handles included */
    POBJECT_TYPE Type;
} OBJECT_HEADER, *POBJECT_HEADER;

#define OBJECT_TO_OBJECT_HEADER(Object) ((POBJECT_HEADER)(Object) - 1)

/* A handle for Object that owns one of its references.  NULL when the
 * table is full (the reference stays the caller's). */
HANDLE ObpCreateHandle(PVOID Object, ACCESS_MASK GrantedAccess);

#endif
