// the run's own empty vmpipe cache in VMPIPE_CACHE, removed after the run (tools/ava-config.mjs)
import avaConfig from '../../tools/ava-config.mjs';

export default avaConfig({ timeout: '2m' });
