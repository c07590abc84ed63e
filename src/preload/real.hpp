#pragma once
// The C library's own versions of every function the socksify library interposes, found with
// dlsym(RTLD_NEXT). The library's code calls these (never the plain names) whenever it means the real thing,
// so it does not recurse into itself.

#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

namespace sg::preload {

struct Real {
    int (*socket)(int, int, int);
    int (*accept)(int, sockaddr*, socklen_t*);
    int (*accept4)(int, sockaddr*, socklen_t*, int);
    int (*connect)(int, const sockaddr*, socklen_t);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*getpeername)(int, sockaddr*, socklen_t*);
    int (*getsockname)(int, sockaddr*, socklen_t*);
    int (*getaddrinfo)(const char*, const char*, const addrinfo*, addrinfo**);
    void (*freeaddrinfo)(addrinfo*);
    int (*getnameinfo)(const sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
    hostent* (*gethostbyname)(const char*);
    hostent* (*gethostbyname2)(const char*, int);
    int (*gethostbyname_r)(const char*, hostent*, char*, size_t, hostent**, int*);
    int (*gethostbyname2_r)(const char*, int, hostent*, char*, size_t, hostent**, int*);
    ssize_t (*send)(int, const void*, size_t, int);
    ssize_t (*sendto)(int, const void*, size_t, int, const sockaddr*, socklen_t);
    ssize_t (*sendmsg)(int, const msghdr*, int);
    ssize_t (*write)(int, const void*, size_t);
    ssize_t (*recv)(int, void*, size_t, int);
    ssize_t (*recvfrom)(int, void*, size_t, int, sockaddr*, socklen_t*);
    ssize_t (*recvmsg)(int, msghdr*, int);
    ssize_t (*read)(int, void*, size_t);
};

// Resolved once, on first use, thread-safely.
const Real& real();

}  // namespace sg::preload
