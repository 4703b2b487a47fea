// Every limit of Granary, named, in one place (STYLE.md 5). Input past a limit gets an error;
// internal state past one is a bug.
#pragma once

#include <cstddef>
#include <cstdint>

namespace granary {

// Namespace.
inline constexpr size_t kNameBytesMax = 255;
inline constexpr size_t kPathBytesMax = 4096;
inline constexpr size_t kPathDepthMax = 512;
inline constexpr uint32_t kListPageEntriesMax = 1000;

// Data.
inline constexpr uint64_t kInlineThresholdBytesDefault = 64 * 1024;
inline constexpr uint64_t kInlineThresholdBytesMax = 1024 * 1024;
inline constexpr uint32_t kChecksumChunkBytes = 64 * 1024;
inline constexpr uint64_t kBlockBytesDefault = 128ull * 1024 * 1024;
inline constexpr uint64_t kBlockBytesMax = 1024ull * 1024 * 1024;
inline constexpr uint32_t kReplicationMax = 16;

// Wire.
inline constexpr size_t kMethodBytesMax = 64;
inline constexpr size_t kMessageBodyBytesMax = 4 * 1024 * 1024;
inline constexpr size_t kPayloadBytesMax = 8 * 1024 * 1024;
inline constexpr uint32_t kRpcInFlightPerCallerMax = 1024;

// Disk seam.
inline constexpr size_t kDiskFileNameBytesMax = 255;
inline constexpr size_t kDiskReadBytesMax = 16 * 1024 * 1024;
inline constexpr uint32_t kDiskListEntriesMax = 1 << 20;

// MetaStore seam.
inline constexpr size_t kMetaKeyBytesMax = 8 * 1024;
inline constexpr size_t kMetaValueBytesMax = 2 * 1024 * 1024;
inline constexpr uint32_t kMetaBatchOpsMax = 100000;
inline constexpr uint32_t kMetaScanEntriesMax = 100000;

// Runtime.
inline constexpr size_t kFiberStackBytes = 64 * 1024;
inline constexpr uint32_t kRetryAttemptsMax = 16;

}  // namespace granary
