// A pickle virtual machine that never executes anything: protocols 0-5 (Python 2 and 3), values built
// only from an allowlist of exact (module, name) globals, as docs/reference/weights-formats.md §2
// and robustness.md §1.1 describe. GLOBAL yields an inert marker; REDUCE/NEWOBJ/BUILD on an allowlisted
// marker construct a value (OrderedDict, torch tensor view, numpy array, set, bytes); an unknown class
// (torch.nn.modules.*, torchvision.*, __main__.Net, ...) becomes an inert generic object whose BUILD
// state is kept, so a whole pickled nn.Module's tensors stay reachable. Anything else (os.system,
// builtins.eval, dotted names, dunders) is refused naming the global. Every length is checked against
// the bytes left before allocating; memo size, object count and nesting depth are budgeted; values live
// in an arena, so destruction is flat (no recursion, cycles are harmless).
// Python equivalent: pickle.loads(..., encoding='latin1') / torch.load(weights_only=True).
// This header gathers the parts: value.h (values, arena), unpickler.h (the VM, the allowlist check), and
// declares what turns values into tensors (materialize.cpp, flatten.cpp). The readers built on it are
// in data/formats/ (weights_bytes.h).
// Tests: tests/data/pickle/test_pickle.cpp, test_hostile_files.cpp, tests/fuzz/fuzz_pickle.cpp.
#pragma once

#include <string>

#include "data/pickle/unpickler.h"
#include "data/pickle/value.h"
#include "tensor/state_dict.h"
#include "tensor/tensor.h"

namespace fk::data::pickle {

// ---- from values to tensors (shared by torch_reader.cpp and weights.cpp)

// A contiguous tensor for a Tensor, a TensorView (its storage offset, shape and strides checked against
// the storage, then copied) or a 0-d object array holding one; throws naming `what` and `key`.
fk::Tensor materialize(const Value* v, const std::string& what, const std::string& key);

// Flattens an unpickled object into a state dict: dicts (OrderedDicts) give dotted keys ("net.conv1.weight"),
// lists/tuples their indices, a whole nn.Module what model.state_dict() gives (each module's
// _parameters then persistent _buffers, then its _modules, None entries skipped); non-tensor leaves
// (epoch numbers, learning rates, strings) are skipped. Shared sub-objects keep their tensors shared.
StateDict flatten(const Value* root, const std::string& what);

}  // namespace fk::data::pickle
