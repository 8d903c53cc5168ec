// The device commands: one request each to the agent, which checks who asks and records the
// change; with an argument missing on a terminal, a numbered menu asks for it.
#include "device_admin.hpp"

#include <climits>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <hac/agent_client.hpp>
#include <hac/error.hpp>

#include "common/menu.hpp"
#include "common/number_check.hpp"
#include "common/output.hpp"
#include "common/render.hpp"
#include "common/sku_catalog.hpp"
#include "common/suggest.hpp"

namespace hac::smi {

namespace {

std::string describe(const Device &d)
{
	return fmt::format("{} ({} GPU{}, {} GB)", d.sku, d.gpus, d.gpus == 1 ? "" : "s", d.memoryTotalMib / 1024);
}

// The device a verb acts on: the given index, else one chosen from a menu on a terminal.
std::optional<int> chooseDevice(const tools::Catalog &catalog, const DeviceCommand &command)
{
	if (command.index)
		return command.index;
	if (!tools::interactive())
		throw Error(Errc::Usage, fmt::format("'hac-smi device {}' needs a device index N when stdin is not a terminal",
							 command.verb));
	Table table({{" "}, {"Device", Align::Right}, {"Size"}});
	std::vector<int> indexes;
	for (const Device &d : catalog.devices) {
		table.addRow({d.current ? "*" : "", std::to_string(d.index), describe(d)});
		indexes.push_back(d.index);
	}
	if (indexes.empty())
		throw Error(Errc::NotFound, "this VM has no device; add one with 'hac-smi device add'");
	tools::print(table.render());
	return tools::askDevice(indexes);
}

std::optional<std::string> chooseSku(const tools::Catalog &catalog, const DeviceCommand &command)
{
	if (!command.sku.empty())
		return tools::resolveSku(catalog, command.sku).name;
	if (!tools::interactive())
		throw Error(Errc::Usage, "'hac-smi device add' needs a SIZE when stdin is not a terminal; "
					     "see them with 'hac-smi device list'");
	tools::print(tools::renderSkuTable(catalog, ""));
	auto choice = tools::askSelection(static_cast<int>(catalog.skus.size()));
	if (!choice)
		return std::nullopt;
	return catalog.skus[std::size_t(*choice - 1)].sku.name;
}

} // namespace

void addDeviceCommand(CLI::App &app, DeviceCommand &command)
{
	auto *device = app.add_subcommand("device", "Manage this VM's devices: list, add, rm, switch (root or hac-admin to change)");
	device->require_subcommand(0, 1);
	device->fallthrough();  // hac-smi's --socket and --json also after the verb
	// A word that is no verb lands here, for checkDeviceCommand to name the verbs.
	device->add_option("verb", command.stray)->group("");
	auto verb = [&](const char *name, const char *help) {
		auto *sub = device->add_subcommand(name, help);
		sub->fallthrough();
		sub->callback([&command, name] { command.verb = name; });
		sub->add_flag("--json", command.json, "Print JSON (with \"schema_version\")");
		return sub;
	};
	const auto index = [] { return tools::wholeNumber(0, INT_MAX, "a device index"); };
	verb("list", "List the sizes a device may be added with: GPUs, memory, price per minute, allowed or not");
	verb("add", "Add a device of SIZE (a menu on a terminal when SIZE is missing)")
		->add_option("size", command.sku, "e.g. 2xlarge or 2xLarge.192GB")->type_name("SIZE");
	auto *rm = verb("rm", "Remove device N (refused while a job runs on it)");
	rm->add_option_function<int>("index", [&command](int n) { command.index = n; }, "The device's index")
		->type_name("N")->check(index());
	rm->add_flag("-y,--yes", command.yes, "Do not ask for confirmation on a terminal");
	verb("switch", "Make device N the current one: the default for new jobs (HAC_VISIBLE_DEVICE overrides it per job)")
		->add_option_function<int>("index", [&command](int n) { command.index = n; }, "The device's index")
		->type_name("N")->check(index());

	// moreh-smi's own spelling of the verbs: `hac-smi device --add SIZE`, `--rm N`, `--switch N`.
	auto *add = device->add_option_function<std::string>("--add", [&command](const std::string &sku) {
		command.verb = "add";
		command.sku = sku;
	}, "The same as 'device add SIZE' (moreh-smi's form)")->type_name("SIZE");
	auto *remove = device->add_option_function<int>("--rm", [&command](int n) {
		command.verb = "rm";
		command.index = n;
	}, "The same as 'device rm N' (moreh-smi's form)")->type_name("N")->check(index());
	auto *change = device->add_option_function<int>("--switch", [&command](int n) {
		command.verb = "switch";
		command.index = n;
	}, "The same as 'device switch N' (moreh-smi's form)")->type_name("N")->check(index());
	device->add_flag("-y,--yes", command.yes, "With --rm: do not ask for confirmation on a terminal");
	add->excludes(remove)->excludes(change);
	remove->excludes(change);
}

void checkDeviceCommand(const DeviceCommand &command)
{
	static const std::vector<std::string> verbs = {"list", "add", "rm", "switch"};
	if (!command.verb.empty() && command.stray.empty())
		return;
	std::string known = "the verbs are list, add [SIZE], rm [N] and switch [N] (or moreh-smi's --add SIZE, "
			    "--rm N, --switch N)";
	if (command.stray.empty())
		throw Error(Errc::Usage, "'hac-smi device' needs a verb: " + known);
	if (!command.verb.empty())
		throw Error(Errc::Usage, fmt::format("'hac-smi device {}' does not take '{}'", command.verb, command.stray.front()));
	throw Error(Errc::Usage, fmt::format("'hac-smi device {}': no such verb{}; {}", command.stray.front(),
						 didYouMean(command.stray.front(), verbs), known));
}

int runDeviceCommand(DeviceCommand command, const Options &options)
{
	command.json = command.json || options.json;  // hac-smi --json device list, too
	AgentClient agent(resolveSocketPath(options.socket));
	tools::Catalog catalog = tools::fetchCatalog(agent);

	if (command.verb == "list") {
		Json body{{"schema_version", 1}, {"skus", tools::skuListJson(catalog, "")}, {"max_devices", catalog.maxDevices},
			  {"devices", catalog.devices.size()}};
		tools::report(command.json, body, tools::renderSkuTable(catalog, "") +
				      fmt::format("This VM has {} of at most {} device(s).\n", catalog.devices.size(), catalog.maxDevices));
		return 0;
	}
	if (command.verb == "add") {
		auto sku = chooseSku(catalog, command);
		if (!sku)
			return 0;
		Json body = agent.post("/v1/devices", Json{{"sku", *sku}});
		Device d = body.at("device").get<Device>();
		tools::report(command.json, body, fmt::format("Device {} added: {}.\n", d.index, describe(d)));
		return 0;
	}
	auto index = chooseDevice(catalog, command);
	if (!index)
		return 0;
	if (command.verb == "rm") {
		if (!command.yes && tools::interactive() &&
		    !tools::confirm(fmt::format("Remove device {}? Its GPUs are given back to the farm. [y/N]", *index))) {
			tools::print("Nothing changed.\n");
			return 0;
		}
		Json body = agent.request("DELETE", fmt::format("/v1/devices/{}", *index), "");
		tools::report(command.json, body, fmt::format("Device {} removed.\n", *index));
		return 0;
	}
	Json body = agent.post(fmt::format("/v1/devices/{}/current", *index), Json::object());
	Device d = body.at("device").get<Device>();
	tools::report(command.json, body, fmt::format("Current device: {}, {}.\n", d.index, describe(d)));
	return 0;
}

} // namespace hac::smi
