// fk::printable (tensor/printable.h): what the `facekit` command prints of an error message. Control
// characters and bytes that are not valid UTF-8 become \xNN; valid UTF-8 text stays as it is.
#include "tensor/printable.h"
#include "test_util.h"

TEST_CASE("printable: control bytes and invalid UTF-8 escaped, UTF-8 text kept") {
  using fk::printable;
  CHECK(printable("plain: file.png (1 of 2)") == "plain: file.png (1 of 2)");
  // a PNG chunk type of ESC[2J (clear screen) quoted in a message
  CHECK(printable("chunk '\x1b[2J' of 5 bytes") == "chunk '\\x1b[2J' of 5 bytes");
  CHECK(printable(std::string("nul\0bell\a del\x7f", 14)) == "nul\\x00bell\\x07 del\\x7f");
  CHECK(printable("a\nb\tc\r") == "a\\x0ab\\x09c\\x0d");
  CHECK(printable("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80");
  // C1 controls (U+009B is CSI in 8-bit terminals), a lone continuation byte, a raw 0x9b, a cut sequence
  CHECK(printable("x\xc2\x9b" "2J") == "x\\xc2\\x9b2J");
  CHECK(printable("\x9b" "2J") == "\\x9b2J");
  CHECK(printable("\xe6\x97") == "\\xe6\\x97");
  // overlong forms and UTF-16 surrogates are not valid UTF-8
  CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");
  CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
}
