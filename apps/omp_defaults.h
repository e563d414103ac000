// The OpenMP wait policy lowbit runs with unless the user chose one. libgomp's default lets an idle worker spin
// for a long time (~300k iterations) at every barrier; on a shared or loaded machine the spinning workers take
// the cores the working threads need (bench/results/omp_wait_policy.md: a LeNet-5 training step at 2 threads on a
// loaded 2-core machine, 326 ms spinning against 20 ms passive; ResNet-20 2.3-2.8x). So the CLI defaults to
// OMP_WAIT_POLICY=passive.
//
// libgomp reads its environment once, when the library is loaded — before main() runs — so setting the variable
// in main() is too late: the process re-executes itself once (/proc/self/exe) with the variable set. A user who
// sets OMP_WAIT_POLICY or GOMP_SPINCOUNT keeps exactly that; LOWBIT_OMP_WAIT=keep keeps libgomp's own default.
#pragma once

namespace lowbit::app {

// Returns only when no re-exec is needed or it failed (then the run goes on with libgomp's default).
void apply_omp_wait_default(char** argv);

}  // namespace lowbit::app
