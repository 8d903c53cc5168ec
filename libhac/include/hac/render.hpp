// Output for people and scripts: boxed tables, CSV and JSON lines.
#pragma once
