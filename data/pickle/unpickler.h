// The pickle virtual machine: reads one pickle (protocols 0-5, Python 2 and 3) into Values (value.h)
// without executing anything. GLOBAL yields an inert marker for an allowlisted (module, name) only
// (check_global); REDUCE/NEWOBJ/BUILD on such a marker construct a native value, an unknown class
// becomes an inert object. Every length is checked against the bytes left before allocating; memo
// size, object count and nesting depth are budgeted (Limits, Arena).
// Tests: tests/data/pickle/test_pickle.cpp, tests/data/formats/test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "data/pickle/value.h"

namespace fk::data::pickle {

struct Limits {
  size_t max_depth = 1000;          // container nesting (Python's own recursion limit)
  size_t max_memo = 4'000'000;      // memo entries
  size_t max_stack = 16'000'000;    // values on the stack
};

class Unpickler {
 public:
  // Reads the pickle starting at `bytes[pos]`; `what` (the file and part) names it in errors.
  Unpickler(const std::string& bytes, size_t pos, std::string what, Arena& arena, Limits limits = {});
  // BINPERSID/PERSID: receives the persistent id (usually a tuple) and returns the value to push.
  std::function<Value*(Value* pid)> persistent_load;
  // Runs until STOP and returns the object; position() is then just after STOP.
  Value* load();
  size_t position() const { return pos_; }
  const std::string& what() const { return what_; }
  Arena& arena() { return arena_; }

 private:
  struct Impl;  // the machine's state and steps: data/pickle/machine.h
  const std::string& bytes_;
  size_t pos_;
  std::string what_;
  Arena& arena_;
  Limits limits_;
};

// "module.name" when (module, name) may be referenced by GLOBAL/STACK_GLOBAL/INST, else throws naming
// the global: exact allowlisted names, or inert classes of model code (capitalised identifiers outside
// the blocked modules os, posix, sys, subprocess, builtins, numpy, ...). Defined in allowlist.cpp.
void check_global(const std::string& module, const std::string& name, const std::string& what);

}  // namespace fk::data::pickle
