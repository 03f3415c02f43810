// Threads that do background work: deliveries, the escalation log, compactions.
#pragma once

namespace bridgeline {

// Lowers the calling thread's CPU priority (nice 10), so that when the cores are busy the
// threads an escalation waits on (HTTP, the broker's writer and sync threads) run first and
// background work takes what is left. Best effort: a failure changes nothing else.
void RunInBackground();

}  // namespace bridgeline
