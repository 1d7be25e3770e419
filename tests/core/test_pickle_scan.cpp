// The length check that runs before LibTorch's unpickler (which allocates what a pickle declares).
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>

#include "sori/core/fs.h"
#include "sori/core/hash.h"
#include "sori/core/pickle_scan.h"
#include "sori/train/checkpoint.h"
#include "test_util.h"

namespace sori {
namespace {

TEST(PickleScan, AcceptsWhatTorchPicklesAndRefusesLengthsPastTheEnd) {
  c10::impl::GenericDict d(c10::StringType::get(), c10::AnyType::get());
  d.insert("name", std::string("sori"));
  d.insert("x", 1.5);
  d.insert("n", std::int64_t{1} << 40);
  d.insert("list", c10::List<std::int64_t>({1, 2, 3}));
  const auto pickle = torch::pickle_save(d);
  // pickle_save wraps the pickle in a zip archive; its data.pkl record holds the opcodes.
  std::istringstream archive(std::string(pickle.begin(), pickle.end()));
  caffe2::serialize::PyTorchStreamReader reader(&archive);
  const auto [data, size] = reader.getRecord("data.pkl");
  const std::string opcodes(static_cast<const char*>(data.get()), size);
  EXPECT_NO_THROW(check_pickle_lengths(opcodes.data(), opcodes.size(), "p"));

  // BINUNICODE declaring 3.5 GB in a 20-byte pickle: what fuzz_checkpoint found.
  const std::string huge = std::string("\x80\x02X") + std::string("\x00\x00\x00\xd0", 4) + "abc.";
  EXPECT_NE(test::error_text([&] { check_pickle_lengths(huge.data(), huge.size(), "p"); })
                .find("p: pickle opcode 0x58 at byte 2 declares 3489660928 bytes, but only 4 are left"),
            std::string::npos);
  const std::string truncated = "\x80\x02K";
  EXPECT_NE(test::error_text([&] { check_pickle_lengths(truncated.data(), truncated.size(), "p"); }).find("declares 1 bytes"),
            std::string::npos);
  const std::string no_stop = "\x80\x02K\x01";
  EXPECT_NE(test::error_text([&] { check_pickle_lengths(no_stop.data(), no_stop.size(), "p"); }).find("without STOP"),
            std::string::npos);
  const std::string unknown = "\x80\x02\xff.";
  EXPECT_NE(test::error_text([&] { check_pickle_lengths(unknown.data(), unknown.size(), "p"); }).find("unknown pickle opcode 0xff"),
            std::string::npos);
}

// The committed fuzz input that made load_checkpoint allocate 3.7 GB: now refused by the scan.
TEST(PickleScan, ACheckpointDeclaringAHugeStringIsRefusedBeforeAnyAllocation) {
  auto file = read_file(std::string(SORI_SOURCE_DIR) +
                        "/tests/fuzz/corpus/checkpoint/oom-a800cbb5578bf248ed293388e38451684e07973c");
  ASSERT_GT(file.size(), 24u);
  const std::uint64_t body = file.size() - 24, sum = fnv1a64(file.data() + 24, body);
  std::memcpy(file.data() + 8, &body, 8);
  std::memcpy(file.data() + 16, &sum, 8);
  test::TempDir dir;
  write_file_atomic(dir.path("oom.ckpt"), file);
  const auto message = test::error_text([&] { load_checkpoint(dir.path("oom.ckpt")); });
  EXPECT_NE(message.find("declares"), std::string::npos) << message;
  EXPECT_NE(message.find("oom.ckpt"), std::string::npos) << message;
}

}  // namespace
}  // namespace sori
