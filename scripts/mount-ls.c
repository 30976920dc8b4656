/* mount-ls.c ROUNDS CKPT MNT BIN... : interleaved mount (spawn ptfs, wait) + ls (spawn, wait); medians. Built and run by scripts/mount-ls.sh. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
extern char **environ;
static double now(void){struct timespec t; clock_gettime(CLOCK_MONOTONIC,&t); return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int run(char **argv, int quiet){pid_t p; int st; posix_spawn_file_actions_t fa; posix_spawn_file_actions_init(&fa);
 if (quiet) posix_spawn_file_actions_addopen(&fa,1,"/dev/null",O_WRONLY,0);
 if (posix_spawnp(&p, argv[0], &fa, NULL, argv, environ)) return -1; waitpid(p,&st,0); posix_spawn_file_actions_destroy(&fa); return st;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
static void pr(const char *what, double *v, int n){qsort(v,n,sizeof(double),cmp); printf(" %s median %.1f min %.1f q3 %.1f |", what, v[n/2], v[0], v[3*n/4]);}
int main(int argc,char**argv){int n=atoi(argv[1]); char*ck=argv[2],*mnt=argv[3]; int nb=argc-4;
 double (*m)[200]=calloc(nb,sizeof(*m)),(*l)[200]=calloc(nb,sizeof(*l)),(*t)[200]=calloc(nb,sizeof(*t));
 for(int i=0;i<n;i++) for(int b=0;b<nb;b++){ char*pa[]={argv[4+b],ck,mnt,NULL}; char*la[]={"ls",mnt,NULL}; char*ua[]={"fusermount3","-u",mnt,NULL};
  double a=now(); if(run(pa,0)!=0){fprintf(stderr,"mount failed\n");return 1;} double c=now(); run(la,1); double e=now(); run(ua,0);
  m[b][i]=c-a; l[b][i]=e-c; t[b][i]=e-a; }
 for(int b=0;b<nb;b++){printf("%s:",argv[4+b]); pr("total",t[b],n); pr("ptfs",m[b],n); pr("ls",l[b],n); printf("\n");}
 return 0;}
