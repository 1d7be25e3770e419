#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "event_proto.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/train/event_file.h"

namespace sori {

using namespace event_proto;

namespace {

std::string parse_plugin_name(WireReader in) {
  std::string name;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kMetadataPluginData && type == kLengthDelimited) {
      WireReader plugin_data = in.sub(in.bytes());
      while (!plugin_data.done()) {
        const auto [g, t] = plugin_data.key();
        if (g == field::kPluginDataName && t == kLengthDelimited)
          name = std::string(plugin_data.bytes());
        else
          plugin_data.skip(t);
      }
    } else {
      in.skip(type);
    }
  }
  return name;
}

std::optional<std::string> parse_string_tensor(WireReader in) {
  std::uint64_t dtype = 0;
  std::optional<std::string> first;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kTensorDtype && type == kVarint)
      dtype = in.varint();
    else if (f == field::kTensorStringVal && type == kLengthDelimited && !first)
      first = std::string(in.bytes());
    else
      in.skip(type);
  }
  if (dtype != kDtString) return std::nullopt;
  return first;
}

EventValue parse_value(WireReader in) {
  EventValue value;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kValueTag && type == kLengthDelimited)
      value.tag = std::string(in.bytes());
    else if (f == field::kValueSimpleValue && type == kFixed32)
      value.simple_value = in.f32();
    else if (f == field::kValueTensor && type == kLengthDelimited)
      value.text = parse_string_tensor(in.sub(in.bytes()));
    else if (f == field::kValueMetadata && type == kLengthDelimited)
      value.plugin_name = parse_plugin_name(in.sub(in.bytes()));
    else
      in.skip(type);
  }
  return value;
}

Event parse_event(WireReader in, std::uint64_t offset) {
  Event event;
  event.offset = offset;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kEventWallTime && type == kFixed64) {
      event.wall_time = in.f64();
    } else if (f == field::kEventStep && type == kVarint) {
      event.step = static_cast<std::int64_t>(in.varint());
    } else if (f == field::kEventFileVersion && type == kLengthDelimited) {
      event.file_version = std::string(in.bytes());
    } else if (f == field::kEventSummary && type == kLengthDelimited) {
      WireReader summary = in.sub(in.bytes());
      while (!summary.done()) {
        const auto [g, t] = summary.key();
        if (g == field::kSummaryValue && t == kLengthDelimited)
          event.values.push_back(parse_value(summary.sub(summary.bytes())));
        else
          summary.skip(t);
      }
    } else if (f == field::kEventSessionLog && type == kLengthDelimited) {
      WireReader log = in.sub(in.bytes());
      while (!log.done()) {
        const auto [g, t] = log.key();
        if (g == field::kSessionLogStatus && t == kVarint)
          event.session_status = static_cast<int>(log.varint());
        else
          log.skip(t);
      }
    } else {
      in.skip(type);
    }
  }
  return event;
}

}  // namespace

EventFileContents read_event_file(const std::string& path) {
  const std::string bytes = read_file(path);
  EventFileContents contents;
  std::uint64_t at = 0;
  const std::uint64_t size = bytes.size();
  while (at < size) {
    const char* rec = bytes.data() + at;
    if (size - at < 12) break;  // torn in the length or its CRC
    const std::uint64_t length = load_fixed(rec, 8);
    SORI_CHECK(load_fixed(rec + 8, 4) == masked_crc32c(rec, 8), "event file ", path, ": record at byte offset ", at,
               ": the CRC of its length does not match (the file is corrupt; a writer killed mid-record only "
               "ever cuts the last record short)");
    if (size - at - 12 < 4 || length > size - at - 16) break;  // torn in the data or its CRC
    const std::string_view data(rec + 12, static_cast<std::size_t>(length));
    SORI_CHECK(load_fixed(rec + 12 + length, 4) == masked_crc32c(data.data(), data.size()), "event file ", path,
               ": record at byte offset ", at, ": the CRC of its ", length,
               " data bytes does not match (the file is corrupt; a writer killed mid-record only ever cuts the "
               "last record short)");
    contents.events.push_back(parse_event(WireReader(data, path, at), at));
    at += 16 + length;
  }
  contents.torn_tail_bytes = size - at;
  return contents;
}

std::vector<Event> read_run_events(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && name.find("tfevents") != std::string::npos) files.push_back(it->path().string());
  }
  SORI_CHECK(!ec, "cannot list the TensorBoard run directory ", dir, ": ", ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Event> kept;
  bool seen_start = false;
  for (const auto& file : files) {
    for (auto& event : read_event_file(file).events) {
      if (event.session_status == kSessionStatusStart) {
        if (seen_start) {
          const std::int64_t restart = event.step;
          kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Event& e) { return e.step >= restart; }),
                     kept.end());
        }
        seen_start = true;
      }
      if (!event.values.empty()) kept.push_back(std::move(event));
    }
  }
  return kept;
}

std::map<std::string, std::vector<ScalarPoint>> read_run_scalars(const std::string& dir) {
  std::map<std::string, std::vector<ScalarPoint>> series;
  for (const auto& event : read_run_events(dir))
    for (const auto& value : event.values)
      if (value.simple_value) series[value.tag].push_back({event.step, *value.simple_value});
  return series;
}

}  // namespace sori
