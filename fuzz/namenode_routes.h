// The namenode's RPC methods with their request and reply types, as Namenode::AddRoutes
// registers them (core/namenode/namenode.cc). fuzz_router checks at start-up that every
// *Request message of proto/namenode.proto is listed here, so the list cannot fall behind
// the schema unnoticed. The order is the fuzz input's method byte: append only (the seed
// corpus depends on it).
#pragma once

// clang-format off
#define GRANARY_NAMENODE_ROUTES(X)                                              \
  X("nn.Mkdirs", MkdirsRequest, MkdirsReply)                                    \
  X("nn.Create", CreateRequest, CreateReply)                                    \
  X("nn.WriteInline", WriteInlineRequest, WriteInlineReply)                     \
  X("nn.ConvertToBlocks", ConvertToBlocksRequest, ConvertToBlocksReply)         \
  X("nn.AddBlock", AddBlockRequest, AddBlockReply)                              \
  X("nn.Complete", CompleteRequest, CompleteReply)                              \
  X("nn.BumpGeneration", BumpGenerationRequest, BumpGenerationReply)            \
  X("nn.UpdatePipeline", UpdatePipelineRequest, UpdatePipelineReply)            \
  X("nn.RenewLease", RenewLeaseRequest, RenewLeaseReply)                        \
  X("nn.Open", OpenRequest, OpenReply)                                          \
  X("nn.Stat", StatRequest, StatReply)                                          \
  X("nn.List", ListRequest, ListReply)                                          \
  X("nn.Delete", DeleteRequest, DeleteReply)                                    \
  X("nn.Rename", RenameRequest, RenameReply)                                    \
  X("nn.SetPermission", SetPermissionRequest, SetAttributeReply)                \
  X("nn.SetOwner", SetOwnerRequest, SetAttributeReply)                          \
  X("nn.SetReplication", SetReplicationRequest, SetAttributeReply)              \
  X("nn.ReportBadBlock", ReportBadBlockRequest, ReportBadBlockReply)            \
  X("nn.ClusterReport", ClusterReportRequest, ClusterReportReply)               \
  X("nn.ServerDefaults", ServerDefaultsRequest, ServerDefaultsReply)            \
  X("nn.Register", RegisterRequest, RegisterReply)                              \
  X("nn.Heartbeat", HeartbeatRequest, HeartbeatReply)                           \
  X("nn.BlockReport", BlockReportRequest, BlockReportReply)                     \
  X("nn.RecoveryDone", RecoveryDoneRequest, RecoveryDoneReply)                  \
  X("nn.OpenMany", OpenManyRequest, OpenManyReply)
// clang-format on
