import type { SQSHandler } from 'aws-lambda';
import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { createStartDrainHandler } from './app';

// Created once per container.
export const handler: SQSHandler = createStartDrainHandler(lambdaDependencies('start'));
