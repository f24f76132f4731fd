// A one-line progress bar on stderr for long commands ("detect  [=====>      ]  45/190  img.jpg"),
// redrawn in place. Shown only when stderr is a terminal, so logs, pipes and tests stay clean.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "tensor/printable.h"

namespace fk::apps {

class Progress {
 public:
  Progress(std::string label, int64_t total) : label_(std::move(label)), total_(total), on_(isatty(2) && total > 1) {}
  ~Progress() { done(); }
  // Marks `current` items done; `note` is shown after the counter (e.g. the file being processed).
  void update(int64_t current, const std::string& note = "") {
    if (!on_) return;
    auto now = std::chrono::steady_clock::now();
    if (current < total_ && now - last_ < std::chrono::milliseconds(100)) return;  // at most 10 redraws/s
    last_ = now;
    const int width = 30;
    int filled = total_ > 0 ? int(width * current / total_) : width;
    std::string bar(size_t(filled), '=');
    if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
    std::string tail = note.size() > 40 ? "..." + note.substr(note.size() - 37) : note;
    std::fprintf(stderr, "\r%s [%s] %lld/%lld %-40s", label_.c_str(), bar.c_str(), (long long)current,
                 (long long)total_, tail.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }
  // Ends the line (also done by the destructor).
  void done() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }
  // One item failed: ends the bar's line, prints "facekit: <what>" on stderr with control bytes and
  // invalid UTF-8 escaped (fk::printable), and returns that escaped text (for a JSON `error`).
  std::string fail(const std::exception& e) {
    done();
    std::string message = printable(e.what());
    std::fprintf(stderr, "facekit: %s\n", message.c_str());
    return message;
  }

 private:
  std::string label_;
  int64_t total_;
  bool on_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// After a folder: "facekit: detect: 384 images in 3.21 s (119.6 images/s)" on stderr (nothing for a
// single image).
inline void report_throughput(const char* command, size_t images, std::chrono::steady_clock::time_point start) {
  if (images < 2) return;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "facekit: %s: %zu images in %.2f s (%.1f images/s)\n", command, images, s,
               s > 0 ? double(images) / s : 0.0);
}

}  // namespace fk::apps
