#include "dashboard/dashboard.hpp"

#include <string>
#include <utility>

#include "dashboard/assets.hpp"

namespace sg::dashboard {

void add_dashboard(metrics::AdminServer& admin) {
    for (const auto& asset : assets()) {
        std::string type(asset.content_type);
        if (type.starts_with("text/")) type += "; charset=utf-8";
        admin.add_page(std::string(asset.path), std::move(type), asset.body);
    }
}

}  // namespace sg::dashboard
