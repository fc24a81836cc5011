// The CPU emulator of graphtrain's CUDA kernels: the runtime that emu.h declares, and a
// driver that a Go test (cuda/emu_test.go) talks to over stdin and stdout. It is linked with
// the kernels (cuda/kernels/*.cu compiled with emu.h) and a kernel table the test generates.
//
// Protocol: one command a line, each answered "ok" or "err <why>" on a line of its own.
//   slots N B0 ... B(N-1)       allocate N device slots of exactly Bi bytes each (malloc'd, so
//                               AddressSanitizer sees any access past them), filled with 0xff
//                               bytes (NaN as float or double) so a read before a write shows
//   write S N                   the next N bytes of stdin go to the start of slot S
//   read S N                    "ok", then N bytes from the start of slot S
//   launch K GX GY GZ BX BY BZ V...
//                               run kernel K on grid (GX,GY,GZ) of blocks (BX,BY,BZ); one V
//                               per parameter by the kernel's signature: a slot number for a
//                               pointer (the slot's start), a long long, or a double's 64 bits
//                               in hex (exact)
//   order forward|reverse       resume a block's threads first to last (the default) or last
//                               to first: a race between threads that a missing
//                               __syncthreads leaves open shows as a difference
// A fault in a kernel (an address or undefined-behaviour sanitizer report, a divergent
// __syncthreads) ends the process with the report on stderr.
//
// Scheduling: blocks run one at a time, in order; a block's threads are fibers on the one OS
// thread, switched by emu_switch (x86-64). Each pass over the block resumes every live fiber
// once: it runs to its return or to its next __syncthreads. Passes repeat until every fiber has
// returned, so no thread passes a barrier before all live threads of its block reach it.
// Fibers rather than OS threads with a std::barrier: a cnn step runs about 3000 blocks of
// reduce_sum, each through 8 barriers of 128 threads, and a fiber switch costs nanoseconds
// where waking a blocked thread costs microseconds. emu_switch keeps the callee-saved
// registers only (not MXCSR or the x87 control word, which no kernel changes).
#include "emu.h"

#include <sys/mman.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN 1
#else
#define EMU_ASAN 0
#endif

#if !defined(__x86_64__)
#error "the kernel emulator's fiber switch is written for x86-64"
#endif

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

// emu_switch saves the callee-saved registers on the current stack, stores the stack pointer
// in *save and resumes the context whose stack pointer is to.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

namespace {

[[noreturn]] void die(const char* fmt, const char* a = "", const char* b = "") {
    fprintf(stderr, "emu: ");
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n");
    abort();
}

constexpr size_t kStack = 256 << 10;  // bytes of a fiber's stack, a guard page below it
constexpr size_t kGuard = 4096;

struct Fiber {
    void* sp = nullptr;       // saved stack pointer while it is parked
    char* stack = nullptr;    // lowest usable byte of its stack, or null before it starts
    uint3 idx{};              // its threadIdx
    bool done = false;        // it returned from the kernel
    const char* site = nullptr;  // the __syncthreads it waits at
};

bool reverseOrder;  // resume a block's threads last to first (the order command)
std::vector<char*> freeStacks;
std::vector<Fiber> fibers;
Fiber* cur;          // the running fiber
void* schedSP;       // the scheduler's stack pointer while a fiber runs
const void* mainBottom;  // the scheduler's stack, for AddressSanitizer
size_t mainSize;

// The launch being run.
const emu_kernel* kern;
void* const* kp;
const long long* ki;
const double* kr;

char* newStack() {
    if (!freeStacks.empty()) {
        char* s = freeStacks.back();
        freeStacks.pop_back();
        return s;
    }
    void* m = mmap(nullptr, kStack + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) die("mmap of a fiber stack: %s", strerror(errno));
    if (mprotect(m, kGuard, PROT_NONE) != 0) die("mprotect of a guard page: %s", strerror(errno));
    return (char*)m + kGuard;
}

// toScheduler parks the running fiber (or, when it is done, leaves it for good).
void toScheduler(bool done) {
#if EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(done ? nullptr : &fake, mainBottom, mainSize);
    emu_switch(&cur->sp, schedSP);
    __sanitizer_finish_switch_fiber(fake, &mainBottom, &mainSize);
#else
    (void)done;
    emu_switch(&cur->sp, schedSP);
#endif
}

[[noreturn]] void fiberMain() {
#if EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &mainBottom, &mainSize);
#endif
    kern->call(kp, ki, kr);
    cur->done = true;
    toScheduler(true);
    die("a finished fiber was resumed");
}

// resume runs fiber f until it returns or parks at a barrier.
void resume(Fiber* f) {
    if (!f->stack) {
        f->stack = newStack();
        void** sp = (void**)(f->stack + kStack);  // 16-byte aligned
        *--sp = nullptr;                           // fiberMain's (never used) return address
        *--sp = (void*)fiberMain;                  // where emu_switch's ret goes
        for (int i = 0; i < 6; i++) *--sp = nullptr;  // rbp rbx r12..r15
        f->sp = sp;
    }
    cur = f;
    threadIdx = f->idx;
#if EMU_ASAN
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, f->stack, kStack);
    emu_switch(&schedSP, f->sp);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    emu_switch(&schedSP, f->sp);
#endif
    cur = nullptr;
    if (f->done) {
        freeStacks.push_back(f->stack);
        f->stack = nullptr;
    }
}

void runBlock() {
    size_t n = (size_t)blockDim.x * blockDim.y * blockDim.z;
    fibers.assign(n, Fiber{});
    size_t i = 0;
    for (unsigned z = 0; z < blockDim.z; z++)
        for (unsigned y = 0; y < blockDim.y; y++)
            for (unsigned x = 0; x < blockDim.x; x++) fibers[i++].idx = uint3{x, y, z};
    static std::vector<Fiber*> live, next;
    live.clear();
    for (auto& f : fibers) live.push_back(&f);
    while (!live.empty()) {
        next.clear();
        const Fiber* first = nullptr;  // the first thread waiting at a barrier in this pass
        for (size_t j = 0; j < live.size(); j++) {
            Fiber* f = live[reverseOrder ? live.size() - 1 - j : j];
            resume(f);
            if (f->done) continue;
            if (!first) first = f;
            if (f->site != first->site && strcmp(f->site, first->site) != 0) {
                fprintf(stderr, "emu: kernel %s block (%u,%u,%u): thread (%u,%u,%u) waits at %s, thread (%u,%u,%u) at %s\n",
                        kern->name, blockIdx.x, blockIdx.y, blockIdx.z, first->idx.x, first->idx.y, first->idx.z,
                        first->site, f->idx.x, f->idx.y, f->idx.z, f->site);
                die("threads of one block wait at different __syncthreads");
            }
            next.push_back(f);
        }
        if (reverseOrder) std::reverse(next.begin(), next.end());
        live.swap(next);
    }
}

struct Slot {
    char* p;
    size_t n;
};
std::vector<Slot> slots;

bool parseLL(const char* s, long long* v) {
    char* end;
    errno = 0;
    *v = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == 0;
}

void reply(const char* what) {
    fputs(what, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

std::string launch(const std::vector<std::string>& w) {
    if (w.size() < 8) return "err launch: too few words";
    const emu_kernel* k = nullptr;
    for (int j = 0; j < emu_nkernels; j++)
        if (w[1] == emu_kernels[j].name) k = &emu_kernels[j];
    if (!k) return "err no kernel " + w[1];
    long long d[6];
    for (int j = 0; j < 6; j++)
        if (!parseLL(w[2 + j].c_str(), &d[j]) || d[j] < 1) return "err bad launch shape";
    // The limits of every CUDA device since compute capability 3.0.
    if (d[0] > 2147483647 || d[1] > 65535 || d[2] > 65535) return "err grid beyond (2^31-1, 65535, 65535)";
    if (d[3] > 1024 || d[4] > 1024 || d[5] > 64 || d[3] * d[4] * d[5] > 1024)
        return "err block beyond (1024, 1024, 64) or more than 1024 threads";
    size_t np = strlen(k->sig);
    if (w.size() != 8 + np) return "err " + w[1] + " takes " + std::to_string(np) + " parameters";
    std::vector<void*> p;
    std::vector<long long> ints;
    std::vector<double> reals;
    for (size_t j = 0; j < np; j++) {
        const char* s = w[8 + j].c_str();
        long long v;
        switch (k->sig[j]) {
        case 'p':
            if (!parseLL(s, &v) || v < 0 || v >= (long long)slots.size()) return "err bad slot " + w[8 + j];
            p.push_back(slots[v].p);
            break;
        case 'i':
            if (!parseLL(s, &v)) return "err bad integer " + w[8 + j];
            ints.push_back(v);
            break;
        case 'r': {
            char* end;
            uint64_t bits = strtoull(s, &end, 16);
            if (end == s || *end) return "err bad real " + w[8 + j];
            double r;
            memcpy(&r, &bits, 8);
            reals.push_back(r);
            break;
        }
        default:
            return "err bad signature";
        }
    }
    kern = k;
    kp = p.data();
    ki = ints.data();
    kr = reals.data();
    gridDim = dim3(d[0], d[1], d[2]);
    blockDim = dim3(d[3], d[4], d[5]);
    for (unsigned z = 0; z < gridDim.z; z++)
        for (unsigned y = 0; y < gridDim.y; y++)
            for (unsigned x = 0; x < gridDim.x; x++) {
                blockIdx = uint3{x, y, z};
                runBlock();
            }
    return "ok";
}

}  // namespace

#if EMU_ASAN
// onDeath says where a sanitizer stopped the emulator, after its report.
void onDeath() {
    if (kern && cur)
        fprintf(stderr, "emu: in kernel %s, block (%u,%u,%u) of (%u,%u,%u), thread (%u,%u,%u) of (%u,%u,%u)\n", kern->name,
                blockIdx.x, blockIdx.y, blockIdx.z, gridDim.x, gridDim.y, gridDim.z, threadIdx.x, threadIdx.y,
                threadIdx.z, blockDim.x, blockDim.y, blockDim.z);
}
#endif

void emu_syncthreads(const char* site) {
    if (!cur) die("__syncthreads outside a kernel");
    cur->site = site;
    toScheduler(false);
}

int main() {
#if EMU_ASAN
    __sanitizer_set_death_callback(onDeath);
#endif
    std::string line;
    std::vector<std::string> w;
    int c;
    for (;;) {
        line.clear();
        while ((c = getchar()) != EOF && c != '\n') line.push_back((char)c);
        if (c == EOF && line.empty()) break;
        w.clear();
        for (size_t a = 0; a < line.size();) {
            size_t b = line.find(' ', a);
            if (b == std::string::npos) b = line.size();
            if (b > a) w.push_back(line.substr(a, b - a));
            a = b + 1;
        }
        if (w.empty()) continue;
        long long s, n;
        if (w[0] == "slots") {
            long long count;
            if (w.size() < 2 || !parseLL(w[1].c_str(), &count) || count < 0 || w.size() != 2 + (size_t)count) {
                reply("err slots: bad count");
                continue;
            }
            bool ok = true;
            for (long long j = 0; j < count; j++) {
                if (!parseLL(w[2 + j].c_str(), &n) || n < 0) {
                    ok = false;
                    break;
                }
                char* m = (char*)malloc(n);
                if (!m && n) die("out of memory");
                memset(m, 0xff, n);
                slots.push_back(Slot{m, (size_t)n});
            }
            reply(ok ? "ok" : "err slots: bad size");
        } else if ((w[0] == "write" || w[0] == "read") && w.size() == 3 && parseLL(w[1].c_str(), &s) &&
                   parseLL(w[2].c_str(), &n)) {
            bool ok = s >= 0 && s < (long long)slots.size() && n >= 0 && (size_t)n <= slots[s].n;
            if (w[0] == "write") {
                // The bytes follow whatever the answer: read them, then check.
                std::vector<char> tmp(n > 0 ? n : 0);
                if (n > 0 && fread(tmp.data(), 1, n, stdin) != (size_t)n) die("write: short input");
                if (ok && n > 0) memcpy(slots[s].p, tmp.data(), n);
                reply(ok ? "ok" : "err write: outside the slot");
            } else if (!ok) {
                reply("err read: outside the slot");
            } else {
                reply("ok");
                fwrite(slots[s].p, 1, n, stdout);
                fflush(stdout);
            }
        } else if (w[0] == "order" && w.size() == 2 && (w[1] == "forward" || w[1] == "reverse")) {
            reverseOrder = w[1] == "reverse";
            reply("ok");
        } else if (w[0] == "launch") {
            reply(launch(w).c_str());
        } else if (w[0] == "quit") {
            break;
        } else {
            reply(("err unknown command " + w[0]).c_str());
        }
    }
    for (auto& sl : slots) free(sl.p);
    return 0;
}
