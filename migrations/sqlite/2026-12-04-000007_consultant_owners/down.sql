DROP TABLE consultant_dlas;
