// HDF5 files through libhdf5's C API (see h5.h).
#include "data/formats/h5.h"

#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "tensor/creation.h"
#include "tensor/error.h"

namespace fk::data {

static_assert(std::is_same_v<hid_t, int64_t>, "h5.h stores hid_t as int64_t (HDF5 >= 1.10)");

namespace {

// The library prints an error stack on every failed call unless told not to; we report one line.
void quiet_library() {
  static const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// An HDF5 identifier closed by the function that matches its kind.
class Id {
 public:
  Id(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Id() {
    if (id_ >= 0) close_(id_);
  }
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// A link-creation list that makes the groups of a path ("a/b/c") as needed.
Id intermediate_groups() {
  const hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  return Id(lcpl, H5Pclose);
}

Id utf8_string_type() {  // h5py's str
  const hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return Id(t, H5Tclose);
}

// Reads a string dataset or attribute of `n` elements whose type is `type` (variable or fixed length).
template <class ReadFn>
std::vector<std::string> read_strings(hid_t type, size_t n, const std::string& what, ReadFn read) {
  FK_CHECK(H5Tget_class(type) == H5T_STRING, what, ": not a string");
  std::vector<std::string> out;
  if (H5Tis_variable_str(type) > 0) {
    Id mem = utf8_string_type();
    std::vector<char*> ptrs(n, nullptr);
    FK_CHECK(read(mem.get(), ptrs.data()) >= 0, what, ": cannot read the strings");
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t width = H5Tget_size(type);
  FK_CHECK(width > 0 && width < (size_t(1) << 20), what, ": fixed-length strings of ", width, " bytes");
  Id mem(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(mem.get(), width);
  std::vector<char> buf(n * width);
  FK_CHECK(read(mem.get(), buf.data()) >= 0, what, ": cannot read the strings");
  for (size_t i = 0; i < n; ++i) {
    const char* s = buf.data() + i * width;
    out.emplace_back(s, strnlen(s, width));  // NUL-padded (h5py's 'S' dtype)
  }
  return out;
}

}  // namespace

bool is_h5_path(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".h5" || ext == ".hdf5";
}

// ---- writing

H5Writer::H5Writer(const std::string& path) : path_(path) {
  quiet_library();
  tmp_ = path + ".tmp." + std::to_string(getpid());
  file_ = H5Fcreate(tmp_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  FK_CHECK(file_ >= 0, path_, ": cannot create the HDF5 file (", tmp_, ")");
}

H5Writer::~H5Writer() {
  if (file_ >= 0) {
    H5Fclose(file_);
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void H5Writer::dataset(const std::string& name, const Tensor& t) {
  FK_CHECK(t.device().is_cpu(), path_, ": dataset '", name, "' must be on the CPU");
  hid_t file_type, mem_type;
  switch (t.dtype()) {
    case DType::Float32: file_type = H5T_IEEE_F32LE, mem_type = H5T_NATIVE_FLOAT; break;
    case DType::Float64: file_type = H5T_IEEE_F64LE, mem_type = H5T_NATIVE_DOUBLE; break;
    case DType::Int64: file_type = H5T_STD_I64LE, mem_type = H5T_NATIVE_INT64; break;
    default: throw Error(path_ + ": dataset '" + name + "': " + dtype_name(t.dtype()) + " is not stored (float32, float64 or int64)");
  }
  const Tensor c = t.contiguous();
  std::vector<hsize_t> dims(c.shape().begin(), c.shape().end());
  Id space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
  Id lcpl = intermediate_groups();
  Id d(H5Dcreate2(file_, name.c_str(), file_type, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  FK_CHECK(d.ok(), path_, ": cannot create dataset '", name, "' (a name used twice?)");
  FK_CHECK(H5Dwrite(d.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c.raw_data()) >= 0, path_,
           ": cannot write dataset '", name, "'");
}

void H5Writer::strings(const std::string& name, const std::vector<std::string>& values) {
  const hsize_t n = values.size();
  Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  Id type = utf8_string_type();
  Id lcpl = intermediate_groups();
  Id d(H5Dcreate2(file_, name.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  FK_CHECK(d.ok(), path_, ": cannot create dataset '", name, "' (a name used twice?)");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  FK_CHECK(values.empty() || H5Dwrite(d.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0, path_,
           ": cannot write dataset '", name, "'");
}

void H5Writer::attribute(const std::string& name, const std::string& value) {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id type = utf8_string_type();
  Id a(H5Acreate2(file_, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  FK_CHECK(a.ok(), path_, ": cannot create attribute '", name, "'");
  const char* p = value.c_str();
  FK_CHECK(H5Awrite(a.get(), type.get(), &p) >= 0, path_, ": cannot write attribute '", name, "'");
}

void H5Writer::close() {
  const hid_t f = file_;
  file_ = -1;
  const bool closed = H5Fclose(f) >= 0;
  int fd = closed ? ::open(tmp_.c_str(), O_RDONLY) : -1;
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (synced) std::filesystem::rename(tmp_, path_, ec);
  if (!closed || !synced || ec) {
    std::filesystem::remove(tmp_, ec);
    throw Error(path_ + ": cannot write the HDF5 file (" + (closed && synced ? ec.message() : "disk full?") +
                "); the file on disk, if any, is unchanged");
  }
}

// ---- reading

H5Reader::H5Reader(const std::string& path) : path_(path) {
  quiet_library();
  std::error_code ec;
  FK_CHECK(std::filesystem::is_regular_file(path, ec), path, ": cannot open (no such file)");
  FK_CHECK(H5Fis_hdf5(path.c_str()) > 0, path, ": not an HDF5 file");
  file_ = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  FK_CHECK(file_ >= 0, path, ": cannot open the HDF5 file (damaged?)");
}

H5Reader::~H5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool H5Reader::has_dataset(const std::string& name) const {
  // every link of the path must exist before the object can be asked for (H5Lexists's rule)
  size_t pos = 0;
  do {
    pos = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, pos);
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  } while (pos != std::string::npos);
  Id d(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose);
  return d.ok();
}

bool H5Reader::has_attribute(const std::string& name) const { return H5Aexists(file_, name.c_str()) > 0; }

std::vector<std::string> H5Reader::members(const std::string& group) const {
  Id g(H5Gopen2(file_, group.c_str(), H5P_DEFAULT), H5Gclose);
  FK_CHECK(g.ok(), path_, ": no group '", group, "'");
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
    static_cast<std::vector<std::string>*>(out)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  FK_CHECK(H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, &idx, collect, &names) >= 0, path_,
           ": cannot list group '", group, "'");
  return names;
}

Tensor H5Reader::dataset(const std::string& name) const {
  const std::string what = path_ + ": dataset '" + name + "'";
  FK_CHECK(has_dataset(name), what, " is missing");
  Id d(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose);
  Id space(H5Dget_space(d.get()), H5Sclose);
  Id type(H5Dget_type(d.get()), H5Tclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  FK_CHECK(rank >= 0 && rank <= 8, what, ": rank ", rank);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Shape shape;
  int64_t numel = 1;
  for (hsize_t n : dims) {
    FK_CHECK(n <= hsize_t(1) << 40 && numel <= (int64_t(1) << 40) / std::max<int64_t>(int64_t(n), 1), what,
             ": implausible size");
    shape.push_back(int64_t(n)), numel *= int64_t(n);
  }
  const H5T_class_t cls = H5Tget_class(type.get());
  DType dtype;
  hid_t mem;
  if (cls == H5T_FLOAT) {
    const bool f64 = H5Tget_size(type.get()) > 4;
    dtype = f64 ? DType::Float64 : DType::Float32, mem = f64 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
  } else if (cls == H5T_INTEGER) {
    dtype = DType::Int64, mem = H5T_NATIVE_INT64;
  } else {
    throw Error(what + ": not a number array (HDF5 type class " + std::to_string(int(cls)) + ")");
  }
  Tensor t = empty(shape, dtype);
  FK_CHECK(numel == 0 || H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.raw_data()) >= 0, what,
           ": cannot read it (damaged file?)");
  return t;
}

std::vector<std::string> H5Reader::strings(const std::string& name) const {
  const std::string what = path_ + ": dataset '" + name + "'";
  FK_CHECK(has_dataset(name), what, " is missing");
  Id d(H5Dopen2(file_, name.c_str(), H5P_DEFAULT), H5Dclose);
  Id space(H5Dget_space(d.get()), H5Sclose);
  Id type(H5Dget_type(d.get()), H5Tclose);
  FK_CHECK(H5Sget_simple_extent_ndims(space.get()) == 1, what, ": expected a 1-d array of strings");
  hsize_t n = 0;
  H5Sget_simple_extent_dims(space.get(), &n, nullptr);
  FK_CHECK(n <= hsize_t(1) << 32, what, ": implausible size");
  if (n == 0) return {};
  return read_strings(type.get(), size_t(n), what, [&](hid_t mem, void* buf) {
    return H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  });
}

std::string H5Reader::attribute(const std::string& name) const {
  const std::string what = path_ + ": attribute '" + name + "'";
  FK_CHECK(has_attribute(name), what, " is missing");
  Id a(H5Aopen(file_, name.c_str(), H5P_DEFAULT), H5Aclose);
  Id space(H5Aget_space(a.get()), H5Sclose);
  Id type(H5Aget_type(a.get()), H5Tclose);
  FK_CHECK(H5Sget_simple_extent_npoints(space.get()) == 1, what, ": expected one string");
  return read_strings(type.get(), 1, what, [&](hid_t mem, void* buf) { return H5Aread(a.get(), mem, buf); })[0];
}

}  // namespace fk::data
