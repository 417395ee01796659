import * as core from '@actions/core';
import type { Logger } from '../engine/logger.js';

export const actionLogger: Logger = {
  info: (message) => core.info(message),
  warn: (message) => core.warning(message),
  group: (name, fn) => core.group(name, fn),
};
