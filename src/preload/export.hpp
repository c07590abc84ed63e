#pragma once
// The library is built with -fvisibility=hidden; only the functions it interposes are exported.
#define SG_EXPORT extern "C" __attribute__((visibility("default")))
