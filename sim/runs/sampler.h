// Sampler: the time series of a scenario run (timeseries.csv): per interval, throughput, each
// node class's utilisation (ClassMeter: CPU, NIC and disk, from the simulator's and the models'
// counters) and the namenode's view of the cluster; besides, each class's utilisation over the
// measured window, and the recovery times after the first datanode crash.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/common/time.h"
#include "core/namenode/namenode.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/runs/sim_cluster.h"
#include "sim/runs/workload/metrics.h"

namespace granary::sim {

// `v` with `digits` decimals, as the run's CSV files write numbers.
std::string Fixed(double v, int digits = 6);

// Cumulative counters of one node.
struct NodeCounters {
  int64_t cpu_ns = 0;
  uint64_t nic_bytes = 0;  // the busier direction
  uint64_t disk_bytes = 0;
};

struct ClassUse {
  double cpu_mean = 0, cpu_max = 0, nic_mean = 0, nic_max = 0, disk_mean = 0, disk_max = 0;
};

class ClassMeter {
 public:
  ClassMeter(SimCluster& cluster, std::vector<NodeId> nodes)
      : sim_(cluster.sim()), hardware_(cluster.hardware()), nodes_(std::move(nodes)) {}

  std::vector<NodeCounters> Read() const {
    std::vector<NodeCounters> out;
    out.reserve(nodes_.size());
    for (NodeId id : nodes_) {
      SimNode& node = sim_.node(id);
      const SimNetwork& network = hardware_.network();
      out.push_back(NodeCounters{node.cpu_charged().count(),
                                 std::max(network.tx_bytes(id), network.rx_bytes(id)),
                                 hardware_.machine(id).disk_storage().bytes_moved()});
    }
    return out;
  }

  ClassUse Use(const std::vector<NodeCounters>& before, const std::vector<NodeCounters>& after,
               double seconds) const {
    ClassUse use;
    if (nodes_.empty() || seconds <= 0) return use;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const NodeOptions& o = sim_.node(nodes_[i]).options();
      const MachineProfile& m = hardware_.machine(nodes_[i]).profile();
      const double cpu = o.cores == 0 ? 0
                                      : static_cast<double>(after[i].cpu_ns - before[i].cpu_ns) /
                                            1e9 / (o.cores * seconds);
      const double nic = static_cast<double>(after[i].nic_bytes - before[i].nic_bytes) * 8 /
                         (m.nic.bandwidth_bits_per_second * seconds);
      const double disk = static_cast<double>(after[i].disk_bytes - before[i].disk_bytes) /
                          (m.disk.bandwidth_bytes_per_second * seconds);
      use.cpu_mean += cpu;
      use.nic_mean += nic;
      use.disk_mean += disk;
      use.cpu_max = std::max(use.cpu_max, cpu);
      use.nic_max = std::max(use.nic_max, nic);
      use.disk_max = std::max(use.disk_max, disk);
    }
    const double n = static_cast<double>(nodes_.size());
    use.cpu_mean /= n;
    use.nic_mean /= n;
    use.disk_mean /= n;
    // Work is charged when queued, so a saturated interval can read slightly above 1.
    for (double* v : {&use.cpu_mean, &use.cpu_max, &use.nic_mean, &use.nic_max, &use.disk_mean,
                      &use.disk_max}) {
      *v = std::min(*v, 1.0);
    }
    return use;
  }

 private:
  Simulator& sim_;
  Hardware& hardware_;
  std::vector<NodeId> nodes_;
};

// A class's utilisation as the summary's JSON; with the disk's when `disk`.
nlohmann::json UseJson(const ClassUse& u, bool disk);

// The time series of a run (timeseries.csv): per interval, throughput, each class's
// utilisation and the namenode's view of the cluster; besides, each class's utilisation over
// the measured window, and the recovery times after the first datanode crash.
class Sampler {
 public:
  Sampler(SimCluster& cluster, const std::vector<NodeId>& clients, const Metrics& metrics,
          Instant start, Instant first_crash)
      : cluster_(cluster),
        metrics_(metrics),
        start_(start),
        first_crash_(first_crash),
        namenode_meter_(cluster, cluster.namenode_ids().empty()
                                     ? std::vector<NodeId>{cluster.namenode_id()}
                                     : cluster.namenode_ids()),
        datanode_meter_(cluster, cluster.datanode_ids()),
        client_meter_(cluster, clients),
        nn_prev_(namenode_meter_.Read()),
        dn_prev_(datanode_meter_.Read()),
        cl_prev_(client_meter_.Read()) {}

  // The measured window begins now.
  void OpenWindow() {
    nn_window_ = namenode_meter_.Read();
    dn_window_ = datanode_meter_.Read();
    cl_window_ = client_meter_.Read();
  }

  // Appends the row of the interval of `dt` seconds that ends at `now`.
  void Sample(Instant now, double dt) {
    auto nn_now = namenode_meter_.Read();
    auto dn_now = datanode_meter_.Read();
    auto cl_now = client_meter_.Read();
    const ClassUse nn = namenode_meter_.Use(nn_prev_, nn_now, dt);
    const ClassUse dn = datanode_meter_.Use(dn_prev_, dn_now, dt);
    const ClassUse cl = client_meter_.Use(cl_prev_, cl_now, dt);
    nn_prev_ = std::move(nn_now);
    dn_prev_ = std::move(dn_now);
    cl_prev_ = std::move(cl_now);
    uint64_t live = 0, blocks = 0, under = 0, pending = 0, files = 0;
    if (const NamenodeInspection* namenode = cluster_.namenode()) {
      live = namenode->live_datanodes();
      const BlockCounts counts = namenode->block_counts();
      blocks = counts.blocks;
      under = counts.under_replicated + counts.missing;
      pending = counts.pending_replications;
      files = namenode->namespace_counts().files;
      if (now > first_crash_) {
        if (dead_declared_s_ < 0 && live < cluster_.datanode_ids().size()) {
          dead_declared_s_ = ToSeconds(now - first_crash_);
        }
        if (dead_declared_s_ >= 0 && restored_s_ < 0 && under == 0 && pending == 0) {
          restored_s_ = ToSeconds(now - first_crash_);
        }
      }
    }
    const Metrics& m = metrics_;
    const double t = ToSeconds(now - start_);
    series_ += Fixed(t, 3) + "," + Fixed((m.completed_ok() - ok_prev_) / dt, 2) + "," +
               Fixed((m.completed_failed() - failed_prev_) / dt, 2) + "," +
               Fixed((m.all_bytes_written() - written_prev_) / dt / (1 << 20), 3) + "," +
               Fixed((m.all_bytes_read() - read_prev_) / dt / (1 << 20), 3) + "," +
               Fixed(nn.cpu_mean, 4) + "," + Fixed(nn.nic_mean, 4) + "," + Fixed(dn.cpu_mean, 4) +
               "," + Fixed(dn.cpu_max, 4) + "," + Fixed(dn.nic_mean, 4) + "," +
               Fixed(dn.nic_max, 4) + "," + Fixed(dn.disk_mean, 4) + "," + Fixed(dn.disk_max, 4) +
               "," + Fixed(cl.nic_mean, 4) + "," + std::to_string(live) + "," +
               std::to_string(blocks) + "," + std::to_string(under) + "," +
               std::to_string(pending) + "," + std::to_string(files) + "\n";
    ok_prev_ = m.completed_ok();
    failed_prev_ = m.completed_failed();
    written_prev_ = m.all_bytes_written();
    read_prev_ = m.all_bytes_read();
  }

  // Each class's utilisation from OpenWindow to now, `window` seconds.
  nlohmann::json WindowUse(double window) const {
    return {
        {"namenode",
         UseJson(namenode_meter_.Use(nn_window_, namenode_meter_.Read(), window), false)},
        {"datanode",
         UseJson(datanode_meter_.Use(dn_window_, datanode_meter_.Read(), window), true)},
        {"client", UseJson(client_meter_.Use(cl_window_, client_meter_.Read(), window), false)}};
  }

  const std::string& series() const { return series_; }
  double dead_declared_s() const { return dead_declared_s_; }
  double restored_s() const { return restored_s_; }

 private:
  SimCluster& cluster_;
  const Metrics& metrics_;
  const Instant start_;
  const Instant first_crash_;
  ClassMeter namenode_meter_;
  ClassMeter datanode_meter_;
  ClassMeter client_meter_;
  std::vector<NodeCounters> nn_prev_, dn_prev_, cl_prev_;
  std::vector<NodeCounters> nn_window_, dn_window_, cl_window_;
  uint64_t ok_prev_ = 0, failed_prev_ = 0, written_prev_ = 0, read_prev_ = 0;
  std::string series_ =
      "t_s,ops_per_s,failed_per_s,write_mib_per_s,read_mib_per_s,nn_cpu,nn_nic,dn_cpu_mean,"
      "dn_cpu_max,dn_nic_mean,dn_nic_max,dn_disk_mean,dn_disk_max,client_nic_mean,"
      "live_datanodes,blocks,under_replicated,pending_replications,files\n";
  double dead_declared_s_ = -1, restored_s_ = -1;
};

}  // namespace granary::sim
