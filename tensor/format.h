// Numbers as text, in the two styles facekit writes them: Python's repr (what PyTorch prints, for
// module reprs) and the shortest printf "%g" digits that read back exactly (settings files, messages).
// Tests: tests/tensor/test_format.cpp.
#pragma once

#include <string>

namespace fk {

// Python's repr of a float: the shortest round-trip digits, scientific when the exponent is < -4 or
// >= 16, a ".0" on whole numbers: "0.1", "1e-05", "3.0", "nan", "inf".
std::string py_float(double v);

// The shortest "%.15g" / "%.16g" / "%.17g" that reads back as exactly `v`: "0.1", "1e-05", "3" (the
// run folder's config.txt keeps this form, so it is a compatibility promise).
std::string shortest_g(double v);

}  // namespace fk
