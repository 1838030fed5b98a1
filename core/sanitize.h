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

/*
 * SANITIZE_LEAK_CHECK_NOW: LeakSanitizer's check at exit stops the world through /proc and a
 * tracer it clones, and a jail takes both away (no /proc in its root; no new task in a PID
 * namespace whose init has ended). Called before the jail, it checks there, once, and not at
 * exit: what leaks later in a jailed process goes unseen.
 */
#ifdef HVM_ASAN
#include <sanitizer/lsan_interface.h>
#define SANITIZE_LEAK_CHECK_NOW() __lsan_do_leak_check()
#else
#define SANITIZE_LEAK_CHECK_NOW() ((void)0)
#endif

#endif
