// tensor/format.h: Python's float repr (as `repr(x)` prints) and the shortest round-trip "%g".
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>

#include "tensor/format.h"

TEST_CASE("py_float writes what Python's repr writes") {
  CHECK(fk::py_float(0.1) == "0.1");
  CHECK(fk::py_float(3.0) == "3.0");
  CHECK(fk::py_float(-2.5) == "-2.5");
  CHECK(fk::py_float(1e-05) == "1e-05");
  CHECK(fk::py_float(0.0001) == "0.0001");
  CHECK(fk::py_float(1e16) == "1e+16");
  CHECK(fk::py_float(1234567890123456.0) == "1234567890123456.0");
  CHECK(fk::py_float(0.1 + 0.2) == "0.30000000000000004");
  CHECK(fk::py_float(std::nan("")) == "nan");
  CHECK(fk::py_float(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("shortest_g is the shortest printf g form that reads back exactly") {
  CHECK(fk::shortest_g(0.1) == "0.1");
  CHECK(fk::shortest_g(3.0) == "3");
  CHECK(fk::shortest_g(5e-4) == "0.0005");
  CHECK(fk::shortest_g(1e-05) == "1e-05");
  CHECK(fk::shortest_g(100000.0) == "100000");
  CHECK(fk::shortest_g(0.1 + 0.2) == "0.30000000000000004");
  for (double v : {0.1, 1.0 / 3.0, 6.02e23, -7.25e-300, 0.229 * 255})
    CHECK(std::strtod(fk::shortest_g(v).c_str(), nullptr) == v);
}
