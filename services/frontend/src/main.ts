// Telemetry first: it must patch fetch and addEventListener before the app uses them.
import './telemetry';

import { start } from './app';

start(document.getElementById('app') as HTMLElement);
