// Thread count used by engine ops (OpenMP at our level; Eigen itself runs single-threaded).
#pragma once
namespace lowbit {
void set_num_threads(int n);  // n ≥ 1; also sets OpenMP's count
int num_threads();
}  // namespace lowbit
