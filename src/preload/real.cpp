// dlsym(RTLD_NEXT) lookups of the interposed functions (see real.hpp).

#include "preload/real.hpp"

#include <dlfcn.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace sg::preload {
namespace {

Real g_real{};
pthread_once_t g_once = PTHREAD_ONCE_INIT;

template <class F>
void find(F& slot, const char* name) {
    slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
    if (slot == nullptr) {
        // Without the real function the program cannot work at all; say so instead of crashing later. The
        // raw system call, because write() itself is interposed and not resolved yet.
        static constexpr char message[] = "streamgate-socksify: a C library function is missing; aborting\n";
        (void)syscall(SYS_write, STDERR_FILENO, message, sizeof message - 1);
        std::abort();
    }
}

void resolve() {
    find(g_real.socket, "socket");
    find(g_real.accept, "accept");
    find(g_real.accept4, "accept4");
    find(g_real.connect, "connect");
    find(g_real.close, "close");
    find(g_real.dup, "dup");
    find(g_real.dup2, "dup2");
    find(g_real.dup3, "dup3");
    find(g_real.getpeername, "getpeername");
    find(g_real.getsockname, "getsockname");
    find(g_real.getaddrinfo, "getaddrinfo");
    find(g_real.freeaddrinfo, "freeaddrinfo");
    find(g_real.getnameinfo, "getnameinfo");
    find(g_real.gethostbyname, "gethostbyname");
    find(g_real.gethostbyname2, "gethostbyname2");
    find(g_real.gethostbyname_r, "gethostbyname_r");
    find(g_real.gethostbyname2_r, "gethostbyname2_r");
    find(g_real.send, "send");
    find(g_real.sendto, "sendto");
    find(g_real.sendmsg, "sendmsg");
    find(g_real.write, "write");
    find(g_real.recv, "recv");
    find(g_real.recvfrom, "recvfrom");
    find(g_real.recvmsg, "recvmsg");
    find(g_real.read, "read");
}

}  // namespace

const Real& real() {
    pthread_once(&g_once, resolve);
    return g_real;
}

}  // namespace sg::preload
