#include "sim/runs/sampler.h"

#include <cstdio>

namespace granary::sim {

std::string Fixed(double v, int digits) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

nlohmann::json UseJson(const ClassUse& u, bool disk) {
  nlohmann::json j = {{"cpu_mean", u.cpu_mean},
                      {"cpu_max", u.cpu_max},
                      {"nic_mean", u.nic_mean},
                      {"nic_max", u.nic_max}};
  if (disk) {
    j["disk_mean"] = u.disk_mean;
    j["disk_max"] = u.disk_max;
  }
  return j;
}

}  // namespace granary::sim
