// Scenarios for `granary-sim run` (proto/scenario.proto): loading, overrides, defaults,
// validation, calibration files.
//
// A scenario is read from protobuf text format, overridden field by field (--set), completed
// with the defaults of its system kind (ApplyDefaults; scenario_defaults.cc documents each
// figure and its source), then validated. Every error is kInvalidArgument and its message
// starts with the path of the field at fault ("cluster.datanodes: ...").
//
// Calibration file (JSON), as written by `granary-bench --calibrate FILE`; every field is
// optional, times are CPU microseconds of one request on one core:
//   {"namenode": {"create_us": 95, "stat_us": 20, "open_us": 35, "list_us": 60,
//                 "delete_us": 80, "rename_us": 100, "mkdir_us": 80},
//    "datanode": {"write_us_per_mib": 450, "read_us_per_mib": 300}}
// What granary-bench writes now ("format": "granary-calibration/2": CPU measured per
// operation and per process) is fitted to the model by sim/models/calibration.h. Its older format
// ("granary-calibration/1": "namenode_service_us" {"create", "stat", "open", "list"} and
// "datanode_us_per_mib" {"write", "read"}, latencies less a round trip, upper bounds of the
// CPU cost) is read too.
#pragma once

#include <string>
#include <string_view>

#include "core/common/status.h"
#include "proto/scenario.pb.h"

namespace granary::sim {

// Parses text format; errors name the line and column (and the unknown field, if any).
Result<proto::Scenario> ParseScenario(const std::string& text, const std::string& source_name);
Result<proto::Scenario> LoadScenarioFile(const std::string& path);

// Applies "a.b.c=VALUE" (text-format value; strings may be left unquoted) to a singular field.
Status ApplyOverride(proto::Scenario& scenario, std::string_view assignment);

// Merges a calibration JSON's service times into the scenario's unset cost fields.
Status ApplyCalibration(proto::Scenario& scenario, const std::string& json_text);

// Fills every unset field with its default for the scenario's system kind.
void ApplyDefaults(proto::Scenario& scenario);

// Checks ranges and combinations (after ApplyDefaults).
Status ValidateScenario(const proto::Scenario& scenario);

}  // namespace granary::sim
