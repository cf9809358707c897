#!/usr/bin/env node
import { run } from './run-command.js';
await run('list-walk');
