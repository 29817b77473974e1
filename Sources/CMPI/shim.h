// Debian's Open MPI (libopenmpi-dev); pkg-config (ompi-c) puts its include directory on the path.
#include <mpi.h>

// Open MPI's handles are macros over addresses of its globals, which Swift does not import: one function each.
static inline MPI_Comm glossa_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype glossa_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype glossa_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype glossa_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op glossa_mpi_sum(void) { return MPI_SUM; }
static inline void *glossa_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *glossa_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
