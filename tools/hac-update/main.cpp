// hac-update: restore or upgrade the framework build in a conda env or venv from a signed release.
#include <string>

#include <CLI/App.hpp>

#include "common/run_tool.hpp"
#include "options.hpp"
#include "update.hpp"

int main(int argc, char **argv)
{
	CLI::App app{"Restore or upgrade the framework build (e.g. torch 2.1.0+hac24.5.0) in a conda env or venv from a\n"
		     "release the allocator serves, signed with a key in /etc/hac/keys. Without a verb it offers the latest\n"
		     "release if it is newer. Files are downloaded to ~/.cache/hac and checked (signature, expiry, size,\n"
		     "sha256) before pip installs them with --no-index; a failed install puts back what was there.\n"
		     "Exit codes: 0 ok, 1 failure, 2 usage error or no environment, 3 agent unreachable, 4 allocator\n"
		     "unreachable, 7 not found, 8 verification failed (signature, key, expiry, rollback, size, sha256),\n"
		     "10 --check found something to fix."};
	app.name(HAC_TOOL);
	app.set_version_flag("-v,--version", std::string(HAC_TOOL " " HAC_VERSION), "Print hac-update's version and exit");
	hac::update::Options o;
	auto *prefix = app.add_option("--prefix", o.prefix, "The environment's folder (default: $CONDA_PREFIX, else $VIRTUAL_ENV)")
			       ->type_name("PATH");
	app.add_option("-e,--env", o.envName, "A conda environment by name")->type_name("NAME")->excludes(prefix);
	auto *check = app.add_flag("--check", o.check,
				   "Exit 0 when the environment holds the release the allocator expects, 10 when not (and say why)");
	auto *list = app.add_flag("--list", o.list, "List the allocator's releases, verified")->excludes(check);
	auto *force = app.add_flag("--force", o.force, "Install the pinned release (or --target) even when it looks healthy")
			      ->excludes(check)->excludes(list);
	auto *target = app.add_option("--target", o.target, "Install this release instead (e.g. 24.5.0); with --check, check for it")
			       ->type_name("VERSION")->excludes(list);
	app.add_flag("--allow-older", o.allowOlder, "With --target: allow a release older than one installed before")
		->needs(target)->excludes(check);
	app.add_flag("--dry-run", o.dryRun, "Check everything and say what would be done; download and change nothing")
		->excludes(check)->excludes(list);
	app.add_flag("-y,--yes", o.yes, "Upgrade without asking")->excludes(check)->excludes(list);
	app.add_flag("--json", o.json, "Print one JSON document (schema_version 1)");
	app.add_option("--allocator", o.allocator, "Fetch releases from this allocator URL instead of the agent's")
		->type_name("URL");
	app.add_option("--keys", o.keysDir, "Folder of trusted release keys, *.pem (default: $HAC_KEYS_DIR, else /etc/hac/keys)")
		->type_name("DIR");
	app.add_option("--socket", o.socket, "hac-agent's socket (default: $HAC_SOCKET, else /run/hac/agent.sock)")
		->type_name("PATH");
	(void)force;
	hac::tools::setUsage(app, "hac-update [--check | --list | --force | --target VERSION [--allow-older]] "
				  "[--prefix PATH | --env NAME] [--yes] [--dry-run] [--json]");
	return hac::tools::runTool(app, argc, argv, [&] { return hac::update::runUpdate(o); });
}
