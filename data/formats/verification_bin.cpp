// insightface's verification .bin files (see verification_bin.h).
#include "data/formats/verification_bin.h"

#include "data/formats/files.h"
#include "data/formats/weights_bytes.h"
#include "data/pickle/pickle.h"
#include "tensor/error.h"

namespace fk::data {

namespace {

const char* kShape = "expected insightface's (list of image byte strings, list of is-same booleans)";

bool is_sequence(const pickle::Value* v) {
  return v && (v->kind == pickle::Kind::List || v->kind == pickle::Kind::Tuple);
}

}  // namespace

VerificationBin parse_verification_bin(const std::string& bytes, const std::string& what) {
  FK_CHECK(!bytes.empty(), what, ": empty file, not an insightface verification .bin");
  const std::string kind = pickle::sniff(bytes);
  FK_CHECK(kind == "pickle", what, ": not an insightface verification .bin (a pickle): the content looks like ",
           kind == "unknown" ? std::string("something else") : kind);
  pickle::Arena arena;
  pickle::Unpickler up(bytes, 0, what, arena);
  const pickle::Value* root = up.load();
  FK_CHECK(is_sequence(root) && root->items.size() == 2, what, ": ", kShape, ", got a ",
           pickle::kind_name(root->kind), root->items.empty() ? "" : " of " + std::to_string(root->items.size()));
  const pickle::Value* images = root->items[0];
  const pickle::Value* flags = root->items[1];
  FK_CHECK(is_sequence(images) && is_sequence(flags), what, ": ", kShape, ", got a ", pickle::kind_name(images->kind),
           " and a ", pickle::kind_name(flags->kind));

  VerificationBin out;
  out.images.reserve(images->items.size());
  for (size_t i = 0; i < images->items.size(); ++i) {
    const pickle::Value* v = images->items[i];
    // Python 2 str and Python 3 bytes are Bytes; a Python 3 reader of a Python 2 file without
    // encoding='bytes' would see str: accepted as latin-1 bytes, as pickle.load(encoding='latin1') gives.
    FK_CHECK(v->is_text(), what, ": image ", i, " is a ", pickle::kind_name(v->kind), ", not a byte string");
    out.images.push_back(v->kind == pickle::Kind::Bytes ? v->text : v->as_utf8());
    FK_CHECK(!out.images.back().empty(), what, ": image ", i, " is empty");
  }
  out.same.reserve(flags->items.size());
  for (size_t k = 0; k < flags->items.size(); ++k) {
    const pickle::Value* v = flags->items[k];
    const bool boolean = v->kind == pickle::Kind::Bool;
    FK_CHECK(boolean || (v->kind == pickle::Kind::Int && (v->integer == 0 || v->integer == 1)), what, ": is-same flag ",
             k, " is a ", pickle::kind_name(v->kind), ", not a boolean");
    out.same.push_back(boolean ? v->boolean : v->integer == 1);
  }
  FK_CHECK(out.images.size() == 2 * out.same.size(), what, ": ", out.images.size(), " images for ", out.same.size(),
           " pairs (pair k is images 2k and 2k+1: there must be twice as many images as flags)");
  FK_CHECK(!out.same.empty(), what, ": holds no pair");
  return out;
}

VerificationBin read_verification_bin(const std::string& path) { return parse_verification_bin(read_file(path), path); }

}  // namespace fk::data
