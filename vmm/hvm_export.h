/*
 * HVM_API marks the definitions of include/hvm.h's functions: libhvm.so is compiled with
 * -fvisibility=hidden, so these are the only symbols it exports.
 */
#ifndef HVM_EXPORT_H
#define HVM_EXPORT_H

#define HVM_API __attribute__((visibility("default")))

#endif
