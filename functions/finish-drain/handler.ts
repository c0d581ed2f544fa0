import type { SQSHandler } from 'aws-lambda';
import { lambdaDependencies } from '../../shared/drain/lambda-wiring';
import { createFinishDrainHandler } from './app';

// Created once per container.
export const handler: SQSHandler = createFinishDrainHandler(lambdaDependencies('event'));
