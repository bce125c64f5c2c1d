#include "util/mapped_file.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/errors.h"

namespace loraflow {

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    fail(e == ENOENT ? errc::not_found : errc::bad_file, path + ": cannot open: " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(errc::bad_file, path + ": not a regular file");
  }
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->size_ = static_cast<uint64_t>(st.st_size);
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      fail(errc::bad_file, path + ": cannot mmap " + std::to_string(m->size_) + " bytes: " + std::strerror(e));
    }
    m->data_ = static_cast<uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid
  return m;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

namespace {
bool page_range(uint64_t size, uint64_t offset, uint64_t len, uint64_t& a, uint64_t& b, bool inner) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (offset >= size || len == 0) return false;
  uint64_t end = offset + len > size ? size : offset + len;
  if (inner) {
    a = (offset + page - 1) / page * page;
    b = end == size ? end : end / page * page;
  } else {
    a = offset / page * page;
    b = end;
  }
  return b > a;
}
}  // namespace

void MappedFile::release(uint64_t offset, uint64_t len) const {
  uint64_t a, b;
  if (data_ && page_range(size_, offset, len, a, b, true)) ::madvise(data_ + a, b - a, MADV_DONTNEED);
}

void MappedFile::prefetch(uint64_t offset, uint64_t len) const {
  uint64_t a, b;
  if (data_ && page_range(size_, offset, len, a, b, false)) ::madvise(data_ + a, b - a, MADV_WILLNEED);
}

}  // namespace loraflow
