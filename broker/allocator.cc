// jemalloc's settings for every binary that links it (see bridgeline_allocator in CMakeLists).
//
// The broker's memory only grows while it runs: open cases, the memtable, the outbox. With
// 4 KiB pages each new page is a fault on first touch, and under virtualization a fault costs
// microseconds: at 8,000 escalations/s the single writer spent a fifth of its time faulting in
// fresh memtable pages. Transparent huge pages, asked for by jemalloc (the system default is
// `madvise`), fault 2 MiB at a time: fifteen times fewer faults.
extern "C" {
// jemalloc reads this symbol at start-up; MALLOC_CONF in the environment still overrides it.
extern const char* malloc_conf;
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
