-- One database per process (the migrate job would create them too; this keeps ownership explicit).
CREATE DATABASE zhengban_gateway;
CREATE DATABASE zhengban_budget;
CREATE DATABASE zhengban_procurement;
CREATE DATABASE zhengban_licenses;
