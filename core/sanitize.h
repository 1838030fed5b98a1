/*
 * HVM_ASAN: this file is compiled with AddressSanitizer (make SANITIZE=1). gcc defines
 * __SANITIZE_ADDRESS__, clang answers __has_feature(address_sanitizer). Only what the
 * sanitizer runtime cannot live without depends on it: the normal build never sees it.
 */
#ifndef HVM_SANITIZE_H
#define HVM_SANITIZE_H

#if defined(__SANITIZE_ADDRESS__)
#define HVM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HVM_ASAN 1
#endif
#endif

#endif
