// Export (GDPR Art. 15 and 20): GET /v1/subjects/{sid}/export?format=json|csv|xml, streamed.
#include <ctime>
#include <optional>
#include <string>

#include "api/routes.h"

namespace vault::api {
namespace {

// The engine's export stream as an HTTP body; an error cuts the body short, visibly.
class ExportBody final : public BodySource {
 public:
  explicit ExportBody(std::unique_ptr<ExportStream> stream) : stream_(std::move(stream)) {}
  Step Next(std::string* out) override {
    try {
      StatusOr<bool> more = stream_->Next(out);
      if (!more.ok()) return Step::kFailed;
      return *more ? Step::kPiece : Step::kDone;
    } catch (...) {
      return Step::kFailed;
    }
  }

 private:
  std::unique_ptr<ExportStream> stream_;
};

// "lethe-export-20261126T154400Z.json": no subject id (the name lands in download folders).
std::string FileName(ExportFormat format) {
  std::string stamp = FormatRfc3339(static_cast<UnixSeconds>(std::time(nullptr)));
  std::erase(stamp, '-');
  std::erase(stamp, ':');
  return "lethe-export-" + stamp + "." + ExportExtension(format);
}

StatusOr<Reply> Export(Vault* vault, RequestContext& ctx) {
  const std::string name =
      ctx.http.has_param("format") ? ctx.http.get_param_value("format") : "json";
  const std::optional<ExportFormat> format = ParseExportFormat(name);
  if (!format) return InvalidArgument("query parameter 'format' must be json, csv or xml");
  VAULT_ASSIGN_OR_RETURN(std::unique_ptr<ExportStream> stream,
                         vault->Export(ctx.Caller().actor, ctx.Param("sid"), *format));
  Reply r;
  r.status = 200;
  r.content_type = ExportMediaType(*format);
  r.stream = std::make_shared<ExportBody>(std::move(stream));
  r.headers.emplace_back("Content-Disposition",
                         "attachment; filename=\"" + FileName(*format) + "\"");
  return r;
}

}  // namespace

void AddExportRoutes(Router& router, Vault* vault) {
  router.Add({"GET", "/v1/subjects/{sid}/export", Access::Roles({Role::kDpo, Role::kAdmin}),
              BodyKind::kNone, [vault](RequestContext& ctx) { return Export(vault, ctx); }});
}

}  // namespace vault::api
