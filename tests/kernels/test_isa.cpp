#include <doctest/doctest.h>

#include <cstdlib>

#include "kernels/isa.h"
#include "kernels/packing.h"

using namespace lowbit::kernels;

TEST_CASE("isa names round-trip and unknown names are rejected") {
  for (int i = 0; i < kIsaCount; ++i) {
    Isa parsed;
    REQUIRE(parse_isa(isa_name(static_cast<Isa>(i)), &parsed));
    CHECK(parsed == static_cast<Isa>(i));
  }
  Isa dummy;
  CHECK_FALSE(parse_isa("sse9", &dummy));
  CHECK_FALSE(parse_isa("", &dummy));
}

TEST_CASE("the active isa is supported and ref is always available") {
  CHECK(isa_supported(Isa::ref));
  CHECK(isa_supported(active_isa()));
  if (const char* forced = std::getenv("LOWBIT_ISA")) {
    Isa want;
    if (parse_isa(forced, &want) && isa_supported(want)) CHECK(active_isa() == want);
  }
}

TEST_CASE("packing helpers") {
  CHECK(packed_words(0) == 0);
  CHECK(packed_words(63) == 1);
  CHECK(packed_words(129) == 3);
  CHECK(tail_mask(1) == 1);
  CHECK(tail_mask(65) == 1);
  CHECK(tail_mask(128) == ~bword{0});
  CHECK(sign_bit(-0.0f) == 0);  // −0 is not < 0: +1, like sign(0)
}
