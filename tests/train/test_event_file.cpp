// TensorBoard event files: CRC-32C, the bytes we write (pinned by hand-encoded records), reading
// back, torn tails, corruption, failed writes, and the run directory's restart semantics.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <regex>

#include "sori/core/error.h"
#include "sori/train/event_file.h"
#include "test_util.h"

using namespace sori;

namespace {

std::string le(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::string le_double(double v) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return le(bits, 8);
}

std::uint32_t u32_at(const std::string& bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return v;
}

// A one-byte varint length prefix: the hand-encoded messages below are all shorter than 128 bytes.
std::string len(const std::string& body) {
  EXPECT_LT(body.size(), 128u);
  return std::string(1, static_cast<char>(body.size())) + body;
}

// The only file in `dir`.
std::string only_file(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path().string());
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? "" : files[0];
}

// A file with one record of each kind: file_version, START at 5, a scalar, two scalars (0 among
// them: a oneof value must be written even when 0), a text.
std::string write_sample(const std::string& dir) {
  EventFileWriter writer(dir);
  writer.session_start(5);
  writer.scalar("train/loss", 5, 1.5);
  writer.scalars(6, {{"train/lr", 0.25}, {"train/skipped_steps", 0.0}});
  writer.text("val/examples", 6, "**ref**: 안녕하세요\n\n**hyp**: 안녕하세오");
  writer.flush();
  return writer.path();
}

}  // namespace

// The CRC itself: tests/core/test_crc32c.cpp.
TEST(EventFile, MaskedCrc32cMatchesTheTFRecordDefinition) {
  // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, mod 2^32
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
}

TEST(EventFile, WritesAFileThatReadsBackWithEveryValueAndCrc) {
  test::TempDir dir;
  const double before = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string path = write_sample(dir.path("tb"));
  const double after = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string name = std::filesystem::path(path).filename().string();
  EXPECT_TRUE(std::regex_match(name, std::regex(R"(events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+)"))) << name;
  EXPECT_EQ(name.rfind(kEventFilePrefix, 0), 0u) << name;  // the constant other code matches names by
  EXPECT_NE(name.find(std::string(".") + host + "." + std::to_string(::getpid()) + "."), std::string::npos) << name;

  // Walk the records ourselves: both CRCs of each, and nothing after the last.
  const std::string bytes = test::read_text(path);
  std::size_t at = 0, records = 0;
  while (at < bytes.size()) {
    ASSERT_LE(at + 16, bytes.size());
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    ASSERT_LE(at + 16 + length, bytes.size());
    EXPECT_EQ(u32_at(bytes, at + 8), masked_crc32c(bytes.data() + at, 8)) << "record at " << at;
    EXPECT_EQ(u32_at(bytes, at + 12 + length), masked_crc32c(bytes.data() + at + 12, length)) << "record at " << at;
    at += 16 + length;
    ++records;
  }
  EXPECT_EQ(records, 5u);

  const auto contents = read_event_file(path);
  EXPECT_EQ(contents.torn_tail_bytes, 0u);
  ASSERT_EQ(contents.events.size(), 5u);
  for (const auto& e : contents.events) {
    EXPECT_GE(e.wall_time, before - 1e-3);
    EXPECT_LE(e.wall_time, after + 1e-3);
  }
  const auto& ev = contents.events;
  EXPECT_EQ(ev[0].offset, 0u);
  EXPECT_EQ(ev[0].file_version, "brain.Event:2");
  EXPECT_EQ(ev[0].step, 0);
  EXPECT_TRUE(ev[0].values.empty());

  EXPECT_EQ(ev[1].session_status, kSessionStatusStart);
  EXPECT_EQ(ev[1].step, 5);
  EXPECT_TRUE(ev[1].file_version.empty());

  EXPECT_EQ(ev[2].step, 5);
  EXPECT_EQ(ev[2].session_status, kSessionStatusNone);
  ASSERT_EQ(ev[2].values.size(), 1u);
  EXPECT_EQ(ev[2].values[0].tag, "train/loss");
  EXPECT_EQ(ev[2].values[0].simple_value, 1.5f);
  EXPECT_EQ(ev[2].values[0].plugin_name, "");
  EXPECT_FALSE(ev[2].values[0].text);

  EXPECT_EQ(ev[3].step, 6);
  ASSERT_EQ(ev[3].values.size(), 2u);
  EXPECT_EQ(ev[3].values[0].tag, "train/lr");
  EXPECT_EQ(ev[3].values[0].simple_value, 0.25f);
  EXPECT_EQ(ev[3].values[1].tag, "train/skipped_steps");
  EXPECT_EQ(ev[3].values[1].simple_value, 0.0f);

  EXPECT_EQ(ev[4].step, 6);
  ASSERT_EQ(ev[4].values.size(), 1u);
  EXPECT_EQ(ev[4].values[0].tag, "val/examples");
  EXPECT_EQ(ev[4].values[0].plugin_name, "text");
  EXPECT_EQ(ev[4].values[0].text, "**ref**: 안녕하세요\n\n**hyp**: 안녕하세오");
  EXPECT_FALSE(ev[4].values[0].simple_value);
}

// The bytes are pinned by encoding the records by hand, field by field, from the .proto numbers
// (only the wall time is taken from the file: it is the clock's).
TEST(EventFile, RecordsAreTheHandEncodedBytes) {
  test::TempDir dir;
  const std::string path = write_sample(dir.path());
  const std::string bytes = test::read_text(path);
  const auto ev = read_event_file(path).events;
  ASSERT_EQ(ev.size(), 5u);
  const auto record_at = [&](std::size_t i) {
    const std::size_t end = i + 1 < ev.size() ? ev[i + 1].offset : bytes.size();
    return bytes.substr(ev[i].offset, end - ev[i].offset);
  };
  const auto framed = [](const std::string& data) {
    return le(data.size(), 8) + le(masked_crc32c(le(data.size(), 8).data(), 8), 4) + data +
           le(masked_crc32c(data.data(), data.size()), 4);
  };

  // Event{wall_time: 1 (fixed64) = 0x09, file_version: 3 (bytes) = 0x1a}
  const std::string version = "\x09" + le_double(ev[0].wall_time) + "\x1a" + len("brain.Event:2");
  ASSERT_EQ(version.size(), 24u);
  EXPECT_EQ(record_at(0), framed(version));
  EXPECT_EQ(record_at(0).substr(8, 4), le(0x224B7FA3, 4));  // masked CRC of the length 24 (bitwise, Python)

  // Event{wall_time, step: 2 (varint) = 0x10 05, session_log: 7 (bytes) = 0x3a {status: 1 = 0x08 01}}
  const std::string start = "\x09" + le_double(ev[1].wall_time) + "\x10\x05" + "\x3a" + len("\x08\x01");
  ASSERT_EQ(start.size(), 15u);
  EXPECT_EQ(record_at(1), framed(start));
  EXPECT_EQ(record_at(1).substr(8, 4), le(0x092B536D, 4));  // masked CRC of the length 15

  // Value{tag: 1 = 0x0a, simple_value: 2 (fixed32) = 0x15}; Summary{value: 1 = 0x0a}; Event.summary: 5 = 0x2a
  const std::string loss = std::string("\x0a") + len("train/loss") + "\x15" + le(0x3FC00000, 4);  // 1.5f
  const std::string scalar = "\x09" + le_double(ev[2].wall_time) + "\x10\x05" + "\x2a" + len("\x0a" + len(loss));
  EXPECT_EQ(record_at(2), framed(scalar));

  const std::string lr = std::string("\x0a") + len("train/lr") + "\x15" + le(0x3E800000, 4);  // 0.25f
  const std::string skipped = std::string("\x0a") + len("train/skipped_steps") + "\x15" + le(0, 4);
  const std::string two = "\x09" + le_double(ev[3].wall_time) + "\x10\x06" + "\x2a" +
                          len("\x0a" + len(lr) + "\x0a" + len(skipped));
  EXPECT_EQ(record_at(3), framed(two));

  // TensorProto{dtype: 1 = 0x08 07 (DT_STRING), tensor_shape: 2 = 0x12 00 (shape []), string_val: 8 = 0x42};
  // Value{tag, tensor: 8 = 0x42, metadata: 9 = 0x4a {plugin_data: 1 = 0x0a {plugin_name: 1 = 0x0a "text"}}}
  const std::string markdown = "**ref**: 안녕하세요\n\n**hyp**: 안녕하세오";
  const std::string tensor = std::string("\x08\x07") + std::string("\x12\x00", 2) + "\x42" + len(markdown);
  const std::string value =
      std::string("\x0a") + len("val/examples") + "\x42" + len(tensor) + "\x4a" + len("\x0a" + len("\x0a" + len("text")));
  const std::string text = "\x09" + le_double(ev[4].wall_time) + "\x10\x06" + "\x2a" + len("\x0a" + len(value));
  EXPECT_EQ(record_at(4), framed(text));
}

TEST(EventFile, ATornLastRecordIsReportedAndTheRecordsBeforeItRead) {
  test::TempDir dir;
  const std::string path = write_sample(dir.path("tb"));
  const std::string bytes = test::read_text(path);
  const auto full = read_event_file(path);
  ASSERT_EQ(full.events.size(), 5u);
  const std::size_t last = full.events.back().offset;
  // Cuts in the length, in its CRC, in the data, in the data's CRC, and exactly between records.
  for (const std::size_t cut : {last, last + 1, last + 7, last + 8, last + 11, last + 12, last + 13,
                                bytes.size() - 5, bytes.size() - 4, bytes.size() - 1}) {
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    const std::string torn = dir.path("torn.tfevents");
    test::write_text(torn, bytes.substr(0, cut));
    const auto contents = read_event_file(torn);
    EXPECT_EQ(contents.torn_tail_bytes, cut - last);
    ASSERT_EQ(contents.events.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(contents.events[i].offset, full.events[i].offset);
      EXPECT_EQ(contents.events[i].step, full.events[i].step);
      EXPECT_EQ(contents.events[i].wall_time, full.events[i].wall_time);
      ASSERT_EQ(contents.events[i].values.size(), full.events[i].values.size());
      for (std::size_t v = 0; v < contents.events[i].values.size(); ++v) {
        EXPECT_EQ(contents.events[i].values[v].tag, full.events[i].values[v].tag);
        EXPECT_EQ(contents.events[i].values[v].simple_value, full.events[i].values[v].simple_value);
      }
    }
  }
}

TEST(EventFile, ACorruptRecordInTheMiddleIsRefusedNamingTheFileAndOffset) {
  test::TempDir dir;
  const std::string path = write_sample(dir.path("tb"));
  const std::string bytes = test::read_text(path);
  const auto events = read_event_file(path).events;
  ASSERT_EQ(events.size(), 5u);
  const std::size_t middle = events[2].offset;
  const std::string bad = dir.path("bad.tfevents");

  std::string flipped = bytes;
  flipped[middle + 20] ^= 0x01;  // inside the data
  test::write_text(bad, flipped);
  std::string what = test::error_text([&] { read_event_file(bad); });
  EXPECT_NE(what.find(bad), std::string::npos) << what;
  EXPECT_NE(what.find("byte offset " + std::to_string(middle) + ":"), std::string::npos) << what;
  EXPECT_NE(what.find("CRC of its"), std::string::npos) << what;

  flipped = bytes;
  flipped[middle + 1] ^= 0x40;  // inside the length
  test::write_text(bad, flipped);
  what = test::error_text([&] { read_event_file(bad); });
  EXPECT_NE(what.find("byte offset " + std::to_string(middle) + ": the CRC of its length"), std::string::npos) << what;

  // A bad data CRC in the last record is corruption too, not a torn tail: the record is whole.
  flipped = bytes;
  flipped[bytes.size() - 2] ^= 0x01;
  test::write_text(bad, flipped);
  what = test::error_text([&] { read_event_file(bad); });
  EXPECT_NE(what.find("byte offset " + std::to_string(events[4].offset) + ":"), std::string::npos) << what;
}

TEST(EventFile, UnknownFieldsAreSkippedByWireType) {
  // Event{wall_time, step 3, source_metadata: 10 {writer: 1 "x"}, an unknown varint field 15, an
  // unknown fixed32 field 16, summary {value {tag "a", node_name: 7 "n", simple_value 2.0}}}
  std::string value = std::string("\x0a") + len("a") + "\x3a" + len("n") + "\x15" + le(0x40000000, 4);
  std::string event = "\x09" + le_double(12.5) + "\x10\x03" + "\x52" + len(std::string("\x0a") + len("x")) +
                      "\x78\x96\x01" + "\x85\x01" + le(7, 4) + "\x2a" + len("\x0a" + len(value));
  const std::string record = le(event.size(), 8) + le(masked_crc32c(le(event.size(), 8).data(), 8), 4) + event +
                             le(masked_crc32c(event.data(), event.size()), 4);
  test::TempDir dir;
  test::write_text(dir.path("other.tfevents"), record);
  const auto contents = read_event_file(dir.path("other.tfevents"));
  ASSERT_EQ(contents.events.size(), 1u);
  EXPECT_EQ(contents.events[0].wall_time, 12.5);
  EXPECT_EQ(contents.events[0].step, 3);
  ASSERT_EQ(contents.events[0].values.size(), 1u);
  EXPECT_EQ(contents.events[0].values[0].tag, "a");
  EXPECT_EQ(contents.events[0].values[0].simple_value, 2.0f);
}

TEST(EventFile, ARestartDropsWhatTheKilledProcessLoggedFromItsStartStep) {
  test::TempDir dir;
  const std::string run = dir.path("run");
  std::string first_path;
  {
    EventFileWriter first(run);  // logs 1..10, then is "killed" (its checkpoint was at 6)
    first_path = first.path();
    first.session_start(1);
    for (int s = 1; s <= 10; ++s) first.scalar("train/loss", s, s);
    first.text("val/examples", 4, "kept");
    first.text("val/examples", 10, "dropped");
  }
  // Started within the same second: the name must still sort after the first's.
  EventFileWriter second(run);
  EXPECT_GT(std::filesystem::path(second.path()).filename(), std::filesystem::path(first_path).filename());
  second.session_start(7);
  for (int s = 7; s <= 12; ++s) second.scalar("train/loss", s, 100 + s);

  const auto scalars = read_run_scalars(run);
  ASSERT_EQ(scalars.count("train/loss"), 1u);
  std::vector<ScalarPoint> expected;
  for (int s = 1; s <= 12; ++s) expected.push_back({s, static_cast<float>(s <= 6 ? s : 100 + s)});
  EXPECT_EQ(scalars.at("train/loss"), expected);

  std::vector<std::string> texts;
  for (const auto& e : read_run_events(run))
    for (const auto& v : e.values)
      if (v.text) texts.push_back(*v.text);
  EXPECT_EQ(texts, std::vector<std::string>{"kept"});
}

// Another process's file of the same second (or a clock that went back) must not sort after ours:
// TensorBoard reads the files in name order.
TEST(EventFile, ANewFileSortsAfterEveryEventFileAlreadyThere) {
  test::TempDir dir;
  const std::string run = dir.path("run");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  const std::string newest = "events.out.tfevents." + std::to_string(now + 5) + ".zzzz.99999999.9";
  test::write_text(run + "/" + newest, "");
  EventFileWriter writer(run);
  const std::string name = std::filesystem::path(writer.path()).filename().string();
  EXPECT_GT(name, newest);
  EXPECT_EQ(name.rfind("events.out.tfevents." + std::to_string(now + 6) + ".", 0), 0u) << name;
}

TEST(EventFile, TheFirstStartOfARunPurgesNothing) {
  test::TempDir dir;
  EventFileWriter writer(dir.path());
  writer.scalar("a", 5, 1);  // logged before the run's first START (at a lower step)
  writer.session_start(3);
  writer.scalar("a", 6, 2);
  EXPECT_EQ(read_run_scalars(dir.path()).at("a"), (std::vector<ScalarPoint>{{5, 1}, {6, 2}}));
}

TEST(EventFile, AFailedWriteIsAnErrorNamingTheFileAndLeavesOnlyWholeRecords) {
  test::TempDir dir;
  const std::string tb = dir.path("tb");
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death, as a full disk gives ENOSPC
    try {
      EventFileWriter writer(tb);
      const rlimit limit{200, 200};
      setrlimit(RLIMIT_FSIZE, &limit);
      writer.scalar("a", 1, 1);                      // fits
      writer.text("b", 2, std::string(1000, 'x'));  // a partial write, then EFBIG
    } catch (const Error& e) {
      const std::string what = e.what();
      _exit(what.find("cannot write the TensorBoard event file " + tb + "/events.out.tfevents.") !=
                        std::string::npos &&
                    what.find("File too large") != std::string::npos
                ? 0
                : 2);
    }
    _exit(1);
  }
  const int status = test::wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "1: the failed write was not reported; 2: the message lacks the path or cause";
  const auto contents = read_event_file(only_file(tb));
  EXPECT_EQ(contents.torn_tail_bytes, 0u);
  ASSERT_EQ(contents.events.size(), 2u);
  EXPECT_EQ(contents.events[1].values.at(0).tag, "a");
}

TEST(EventFile, AnUncreatableOrMissingDirectoryIsAnErrorNamingIt) {
  test::TempDir dir;
  test::write_text(dir.path("file"), "not a directory");
  const std::string what = test::error_text([&] { EventFileWriter writer(dir.path("file/tb")); });
  EXPECT_NE(what.find("cannot create the TensorBoard log directory " + dir.path("file/tb")), std::string::npos) << what;
  const std::string missing = test::error_text([&] { read_run_scalars(dir.path("missing")); });
  EXPECT_NE(missing.find("cannot list the TensorBoard run directory " + dir.path("missing")), std::string::npos)
      << missing;
}

// An independent decoder: Debian's python3-protobuf with the messages built from the .proto field
// numbers at run time (tests/train/check_event_file.py), which also checks that protobuf
// re-serializes each event to exactly our bytes.
TEST(EventFile, ProtobufDecodesOurFileAndReserializesItByteForByte) {
  if (std::system("/usr/bin/python3 -c 'import google.protobuf' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "Debian's python3-protobuf is not installed (python3-onnx of scripts/install_deps.sh brings it)";
  test::TempDir dir;
  const std::string path = write_sample(dir.path());
  const auto result =
      test::run_command("/usr/bin/python3 " SORI_SOURCE_DIR "/tests/train/check_event_file.py '" + path + "'");
  ASSERT_EQ(result.status, 0) << result.output;
  const std::string expected =
      "step=0 wall_time_positive=True what=file_version file_version=brain.Event:2\n"
      "step=5 wall_time_positive=True what=session_log status=1\n"
      "step=5 wall_time_positive=True what=summary | tag=train/loss kind=simple_value simple_value=1.5\n"
      "step=6 wall_time_positive=True what=summary | tag=train/lr kind=simple_value simple_value=0.25"
      " | tag=train/skipped_steps kind=simple_value simple_value=0.0\n"
      "step=6 wall_time_positive=True what=summary | tag=val/examples kind=tensor dtype=7 has_shape=True dims=0"
      " string_val=['**ref**: 안녕하세요\\n\\n**hyp**: 안녕하세오'] plugin=text\n";
  EXPECT_EQ(result.output, expected);
}
